// Package sparksvc makes Spark in client mode work from a notebook on
// Kubernetes: the notebook is the Spark driver and its executors are pods.
//
// # The driver Service
//
// Executors connect back to the driver. After a user's pod is created,
// [Driver.AfterPodCreated] creates a headless Service with the pod's name,
// selecting the pod, with the ports spark-ui (4040), spark-driver (2222)
// and spark-block-manager (7777), owned by the pod so the cluster deletes
// it with the pod. A stale Service of the same name from an earlier pod is
// replaced.
//
// # The driver's configuration
//
// [Driver.ModifyPod] sets environment variables before the pod is created:
// SPARK_DRIVER_HOST (the Service's DNS name), SPARK_DRIVER_PORT,
// SPARK_BLOCKMANAGER_PORT, SPARK_UI_PORT, SPARK_EXECUTOR_NAMESPACE,
// SPARK_EXECUTOR_SERVICE_ACCOUNT and SPARK_USER_LABEL for code that builds
// its own SparkSession, and PYSPARK_SUBMIT_ARGS with the matching --conf
// flags (spark.driver.host, spark.driver.bindAddress, spark.driver.port,
// spark.driver.blockManager.port, spark.blockManager.port, spark.ui.port,
// spark.kubernetes.namespace, the executor service account and the
// executors' user label), so that a plain SparkSession.builder in PySpark
// works with no configuration. Variables the user configured are kept.
//
// # Executor isolation
//
// A driver that may create pods could create one that mounts another
// user's volume or Secret. Unless [Config.InsecureNoExecutorIsolation] is
// set, each user's pod runs as a per-user service account whose Role allows
// what a driver needs (pods, services and configmaps in its namespace, no
// Secrets), and a ValidatingAdmissionPolicy, enforced by the API server,
// rejects pods created or changed by that service account that
//
//   - mount a PersistentVolumeClaim or Secret not on the user's list (the
//     claims of the user's own servers and Config.SharedSecrets), through a
//     volume, a projected volume, env valueFrom or envFrom;
//   - use hostPath volumes;
//   - do not carry the user's hub.jupyter.org/username label, or carry
//     another user's;
//
// and rejects updates and deletions by that account of pods, services and
// configmaps labelled for another user, and any change to the isolation
// parameters. The parameters of a user are written before the user's
// service account, so a driver account never exists without them. The policy is installed once by
// [Driver.Install] (cluster rights); per user the hub only writes a
// ConfigMap of parameters and the service account in the user's
// namespace. Each policy evaluation considers every user's parameters in
// the namespace, so for fleets of thousands prefer per-user namespaces,
// where the namespace boundary already isolates executors.
package sparksvc
