// kwok (fake nodes) and helm, on their own dependency pins: pulled into ../go.mod they would upgrade
// grpc, otel and x/* under kube-apiserver, which must keep exactly Kubernetes' own pins.
module cedana-operator/test/controlplane/extras

go 1.26.0

require (
	helm.sh/helm/v3 v3.21.4 // indirect
	sigs.k8s.io/kwok v0.8.0 // indirect
)
