package kube

import (
	"context"
	"maps"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/hubkit/hubkit/internal/slug"
	"github.com/hubkit/hubkit/spawner"
)

// z2jhPVCNameTemplate is the claim name template of z2jh before 4.0
// (singleuser.storage.dynamic.pvcNameTemplate), whose {username} and
// {servername} were the escaped names of KubeSpawner < 7.
const z2jhPVCNameTemplate = "claim-{username}{servername}"

// legacyClaim is a name under which an older deployment may have created a
// server's claim.
type legacyClaim struct {
	name string
	// annotated: the name is also that of another server's claim under the
	// same template ("claim-{username}{servername}" gives "claim-alicelab"
	// for alice's server "lab" and for user alicelab's default server), so
	// the claim is used only if its annotations name this very server.
	annotated bool
}

// LegacyClaimNames returns, in lookup order, the names under which a
// deployment of KubeSpawner < 7 (z2jh < 4) may have created the claim of
// the server req starts. When req.State remembers no claim and none exists
// under the configured name, Start mounts the first of them that exists and
// whose annotations do not name another server (see "Moving from z2jh" in
// the package documentation). The names are:
//
//  1. the configured pvc_name_template rendered with the "escape" scheme
//     (KubeSpawner 7's own legacy lookup): with the default template,
//     claim-{escaped username} for the default server and
//     claim-{escaped username}--{escaped servername} for a named one;
//  2. z2jh < 4's template claim-{username}{servername} rendered with the
//     "escape" scheme: claim-{escaped username} for the default server and
//     claim-{escaped username}{escaped servername} for a named one.
//
// Names equal to the configured claim name or to an earlier entry, and
// names that are no valid object name, are left out, so the list is empty
// when the escape scheme gives nothing new. It returns nil when req does
// not ask for a claim (storage_pvc_ensure unset), or when req.State already
// remembers one in the server's namespace (which is then always used). It
// does no I/O.
func (s *Spawner) LegacyClaimNames(req spawner.Request) ([]string, error) {
	objs, err := s.Render(req)
	if err != nil {
		return nil, err
	}
	if objs.PVC == nil || rememberedPVC(req.State, objs.PVC.Namespace) != "" {
		return nil, nil
	}
	var names []string
	for _, c := range s.legacyClaims(req, objs) {
		names = append(names, c.name)
	}
	return names, nil
}

// legacyClaims computes the candidates of LegacyClaimNames for objs, the
// rendered objects of req.
func (s *Spawner) legacyClaims(req spawner.Request, objs *Objects) []legacyClaim {
	r := renderer{cfg: &s.cfg, req: req, opts: objs.Options,
		names: slug.For(req.User, req.Server, slug.SchemeEscape),
		extra: map[string]string{
			"hubnamespace": hubNamespaceValue(s.cfg.Namespace),
			"namespace":    objs.PVC.Namespace,
			"pod_name":     objs.Pod.Name,
		}}
	seen := map[string]bool{objs.PVC.Name: true}
	var out []legacyClaim
	for _, c := range []struct {
		template  string
		annotated bool
	}{
		{objs.Options.PVCNameTemplate, false},
		{z2jhPVCNameTemplate, req.Server != ""},
	} {
		name, err := r.expand(c.template)
		if err != nil || seen[name] || len(validation.IsDNS1123Subdomain(name)) > 0 {
			continue
		}
		seen[name] = true
		out = append(out, legacyClaim{name: name, annotated: c.annotated})
	}
	return out
}

// belongsTo reports whether the annotations of pvc allow it to be used as
// ref's claim. KubeSpawner has written the raw user and server names into
// the hub.jupyter.org annotations of every claim it made since long before
// version 7; a claim whose annotations name another user (or, where the
// name is ambiguous, another server) is not this server's.
func (c legacyClaim) belongsTo(pvc *corev1.PersistentVolumeClaim, ref spawner.Ref) bool {
	user, ok := pvc.Annotations[AnnotationUsername]
	switch {
	case !ok:
		return !c.annotated
	case user != ref.User:
		return false
	case c.annotated:
		return pvc.Annotations[AnnotationServername] == ref.Server
	}
	return true
}

// resolveClaim decides which claim a start that remembers none uses: the
// one under the configured name if it exists, else the first existing
// legacy claim of this server (in LegacyClaimNames order), else the
// configured name, to be created. exists reports whether the returned claim
// exists. It only reads claims; it never changes or deletes one.
func (s *Spawner) resolveClaim(ctx context.Context, req spawner.Request, objs *Objects) (name string, exists bool, err error) {
	ns, configured := objs.PVC.Namespace, objs.PVC.Name
	cur, err := s.getClaim(ctx, req.Ref, ns, configured)
	if err != nil {
		return "", false, err
	}
	var found []string
	for _, c := range s.legacyClaims(req, objs) {
		pvc, err := s.getClaim(ctx, req.Ref, ns, c.name)
		switch {
		case err != nil:
			return "", false, err
		case pvc == nil:
		case pvc.DeletionTimestamp != nil:
			s.log.Warn("not using a claim with a legacy name: it is being deleted",
				"server", req.Ref.String(), "pvc", ns+"/"+c.name)
		case !c.belongsTo(pvc, req.Ref):
			s.log.Warn("not using a claim with a legacy name: its annotations do not name this server",
				"server", req.Ref.String(), "pvc", ns+"/"+c.name,
				"claim_username", pvc.Annotations[AnnotationUsername],
				"claim_servername", pvc.Annotations[AnnotationServername])
		default:
			found = append(found, c.name)
		}
	}
	if cur != nil {
		if len(found) > 0 {
			s.log.Warn("using the claim under the configured name; claims under legacy names exist too and are left alone",
				"server", req.Ref.String(), "pvc", ns+"/"+configured, "legacy", found)
		}
		return configured, true, nil
	}
	if len(found) == 0 {
		return configured, false, nil
	}
	if len(found) > 1 {
		s.log.Warn("several claims under legacy names; using the first in lookup order",
			"server", req.Ref.String(), "pvc", ns+"/"+found[0], "candidates", found)
	}
	s.log.Info("using the claim under its legacy name", "server", req.Ref.String(),
		"pvc", ns+"/"+found[0], "configured", configured)
	return found[0], true, nil
}

// getClaim reads a claim; it returns nil, nil when there is none.
func (s *Spawner) getClaim(ctx context.Context, ref spawner.Ref, ns, name string) (*corev1.PersistentVolumeClaim, error) {
	var pvc *corev1.PersistentVolumeClaim
	err := retry(ctx, func() error {
		var err error
		pvc, err = s.client.CoreV1().PersistentVolumeClaims(ns).Get(ctx, name, metav1.GetOptions{})
		return err
	})
	switch {
	case err == nil:
		return pvc, nil
	case apierrors.IsNotFound(err):
		return nil, nil
	case apierrors.IsForbidden(err):
		return nil, &spawner.StartError{Ref: ref, Reason: "Rejected", Err: err,
			Message: "reading claim " + name + " (finding a server's claim needs get on persistentvolumeclaims): " + err.Error()}
	}
	return nil, rejected(ref, "reading claim "+name, err)
}

// withClaim returns req with state that remembers claim in namespace ns.
func withClaim(req spawner.Request, ns, claim string) spawner.Request {
	state := make(map[string]string, len(req.State)+2)
	maps.Copy(state, req.State)
	state[StateNamespace] = ns
	state[StatePVC] = claim
	req.State = state
	return req
}
