package khardeninternalloadbalancers

# A Service of type LoadBalancer carries the platform's internal annotation.
# Without one (bare clusters), LoadBalancer Services are refused.

violation[{"msg": msg}] {
	input.review.object.spec.type == "LoadBalancer"
	input.parameters.annotation == ""
	msg := "Services of type LoadBalancer are refused: this platform has no internal load balancer annotation; expose the service through the ingress controller"
}

violation[{"msg": msg}] {
	input.review.object.spec.type == "LoadBalancer"
	input.parameters.annotation != ""
	not input.review.object.metadata.annotations[input.parameters.annotation] == input.parameters.value
	msg := sprintf("a Service of type LoadBalancer must be internal: set the annotation %v: %v", [input.parameters.annotation, input.parameters.value])
}
