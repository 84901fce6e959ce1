package sparksvc

import (
	admv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/hubkit/hubkit/spawner/kube"
)

// The policy's CEL. params is one user's parameter ConfigMap; every
// user's parameters in the namespace are evaluated, and each passes
// requests that do not come from its own service account.
const (
	celMine = `request.userInfo.username != params.data.serviceAccount`

	celPodVolumes = `!has(object.spec.volumes) || object.spec.volumes.all(v,
  !has(v.hostPath) &&
  (!has(v.persistentVolumeClaim) || params.data.claims.split(' ').exists(c, c == v.persistentVolumeClaim.claimName)) &&
  (!has(v.secret) || params.data.secrets.split(' ').exists(s, s == v.secret.secretName)) &&
  (!has(v.projected) || !has(v.projected.sources) || v.projected.sources.all(src,
     !has(src.secret) || params.data.secrets.split(' ').exists(s, s == src.secret.name))))`

	celPodEnv = `variables.containers.all(c,
  (!has(c.env) || c.env.all(e, !has(e.valueFrom) || !has(e.valueFrom.secretKeyRef) ||
     params.data.secrets.split(' ').exists(s, s == e.valueFrom.secretKeyRef.name))) &&
  (!has(c.envFrom) || c.envFrom.all(f, !has(f.secretRef) ||
     params.data.secrets.split(' ').exists(s, s == f.secretRef.name))))`

	celPodLabel = `has(object.metadata.labels) && '` + kube.LabelUsername + `' in object.metadata.labels &&
  object.metadata.labels['` + kube.LabelUsername + `'] == params.data.userLabel`

	celNoParams = `request.resource.resource != 'configmaps' ||
  ((request.operation == 'DELETE' || !has(object.metadata.labels) || !('` + ParamsLabel + `' in object.metadata.labels)) &&
   (request.operation == 'CREATE' || !has(oldObject.metadata.labels) || !('` + ParamsLabel + `' in oldObject.metadata.labels)))`

	celOldLabel = `!has(oldObject.metadata.labels) || !('` + kube.LabelUsername + `' in oldObject.metadata.labels) ||
  oldObject.metadata.labels['` + kube.LabelUsername + `'] == params.data.userLabel`
)

// Policy returns the ValidatingAdmissionPolicy and its binding that
// Install applies.
func (d *Driver) Policy() (*admv1.ValidatingAdmissionPolicy, *admv1.ValidatingAdmissionPolicyBinding) {
	fail := admv1.Fail
	labels := map[string]string{kube.LabelManagedBy: kube.ManagedBy}
	isPod := `request.resource.resource == 'pods'`
	writes := `request.operation == 'CREATE' || request.operation == 'UPDATE'`
	policy := &admv1.ValidatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: PolicyName, Labels: labels},
		Spec: admv1.ValidatingAdmissionPolicySpec{
			FailurePolicy: &fail,
			ParamKind:     &admv1.ParamKind{APIVersion: "v1", Kind: "ConfigMap"},
			MatchConstraints: &admv1.MatchResources{ResourceRules: []admv1.NamedRuleWithOperations{{
				RuleWithOperations: admv1.RuleWithOperations{
					Operations: []admv1.OperationType{admv1.Create, admv1.Update, admv1.Delete},
					Rule:       admv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods", "services", "configmaps"}},
				},
			}}},
			// Only service accounts named like driver accounts are checked.
			MatchConditions: []admv1.MatchCondition{{
				Name:       "driver-service-account",
				Expression: `request.userInfo.username.startsWith('system:serviceaccount:' + request.namespace + ':` + d.cfg.ServiceAccountPrefix + `')`,
			}},
			Variables: []admv1.Variable{{
				Name: "containers",
				Expression: `(has(object.spec.containers) ? object.spec.containers : []) +
  (has(object.spec.initContainers) ? object.spec.initContainers : []) +
  (has(object.spec.ephemeralContainers) ? object.spec.ephemeralContainers : [])`,
			}},
			Validations: []admv1.Validation{
				{
					Expression: celMine + ` || !(` + isPod + ` && (` + writes + `)) || (` + celPodVolumes + `)`,
					Message:    "a Spark driver may only mount its own user's volumes and the shared secrets, and no hostPath",
					Reason:     ptr(metav1.StatusReasonForbidden),
				},
				{
					Expression: celMine + ` || !(` + isPod + ` && (` + writes + `)) || (` + celPodEnv + `)`,
					Message:    "a Spark driver may only reference the shared secrets in environment variables",
					Reason:     ptr(metav1.StatusReasonForbidden),
				},
				{
					Expression: celMine + ` || !(` + isPod + ` && (` + writes + `)) || (` + celPodLabel + `)`,
					Message:    "pods created by a Spark driver must carry their user's " + kube.LabelUsername + " label",
					Reason:     ptr(metav1.StatusReasonForbidden),
				},
				{
					Expression: celMine + ` || (` + celNoParams + `)`,
					Message:    "a Spark driver may not touch the isolation parameters",
					Reason:     ptr(metav1.StatusReasonForbidden),
				},
				{
					Expression: celMine + ` || request.operation == 'CREATE' || (` + celOldLabel + `)`,
					Message:    "a Spark driver may not change or delete another user's objects",
					Reason:     ptr(metav1.StatusReasonForbidden),
				},
			},
		},
	}
	binding := &admv1.ValidatingAdmissionPolicyBinding{
		ObjectMeta: metav1.ObjectMeta{Name: PolicyName, Labels: labels},
		Spec: admv1.ValidatingAdmissionPolicyBindingSpec{
			PolicyName: PolicyName,
			ParamRef: &admv1.ParamRef{
				Selector: &metav1.LabelSelector{MatchLabels: map[string]string{ParamsLabel: "true"}},
				// Allow: requests in namespaces without any user's
				// parameters (the hub's own, before its first spawn there)
				// must pass; a driver account never exists without its
				// parameters, which are written before it.
				ParameterNotFoundAction: ptr(admv1.AllowAction),
			},
			ValidationActions: []admv1.ValidationAction{admv1.Deny},
		},
	}
	return policy, binding
}

func ptr[T any](v T) *T { return &v }
