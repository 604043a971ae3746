package khardennonodeports

# Services of type NodePort open the service on every node's address, outside
# the ingress path and its policies. Profile namespaces close them by quota
# too; this rule covers the namespaces without one (`default`, any created
# later). LoadBalancer Services are left to internalLoadBalancers.

violation[{"msg": msg}] {
	input.review.kind.kind == "Service"
	input.review.object.spec.type == "NodePort"
	msg := sprintf("Services of type NodePort are refused in namespace %v: a node port opens the service on every node, outside the ingress path and its policies; use a ClusterIP Service behind the ingress controller", [input.review.namespace])
}
