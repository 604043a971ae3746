package khardeninternalloadbalancers

# Load balancers the cloud creates for a Service of type LoadBalancer, or on
# EKS and GKE for an Ingress its own controller takes, are internal. Without a
# platform annotation (bare clusters), LoadBalancer Services are refused.
#
# EKS has two Service controllers. The AWS Load Balancer Controller (it takes
# `aws-load-balancer-type: external|nlb-ip` and `loadBalancerClass:
# service.k8s.aws/nlb`) reads `aws-load-balancer-scheme` first and the legacy
# `aws-load-balancer-internal` only without it; the in-tree controller reads the
# legacy annotation only. So any scheme but `internal` is refused whatever else
# is set, and the scheme alone is enough only where the AWS controller takes the
# Service. Its ALB Ingresses (class `alb`) need `alb.ingress.kubernetes.io/scheme:
# internal`. GKE's Ingress controller takes an Ingress with no class at all or
# with `kubernetes.io/ingress.class: gce` (external) or `gce-internal`.

obj := input.review.object

platform := input.parameters.platform

annotations := object.get(obj.metadata, "annotations", {})

spec := object.get(obj, "spec", {})

load_balancer {
	input.review.kind.kind == "Service"
	spec.type == "LoadBalancer"
}

ingress {
	input.review.kind.kind == "Ingress"
}

violation[{"msg": msg}] {
	load_balancer
	input.parameters.annotation == ""
	msg := "Services of type LoadBalancer are refused: this platform has no internal load balancer annotation; expose the service through the ingress controller"
}

violation[{"msg": msg}] {
	load_balancer
	input.parameters.annotation != ""
	platform != "eks"
	not annotations[input.parameters.annotation] == input.parameters.value
	msg := sprintf("a Service of type LoadBalancer must be internal: set the annotation %v: %v", [input.parameters.annotation, input.parameters.value])
}

# ---- EKS Services ----

aws_scheme := object.get(annotations, "service.beta.kubernetes.io/aws-load-balancer-scheme", "")

aws_controller {
	object.get(annotations, "service.beta.kubernetes.io/aws-load-balancer-type", "") == ["external", "nlb-ip"][_]
}

aws_controller {
	object.get(spec, "loadBalancerClass", "") == "service.k8s.aws/nlb"
}

scheme_allowed {
	aws_scheme == ""
}

scheme_allowed {
	aws_scheme == "internal"
}

eks_internal {
	annotations["service.beta.kubernetes.io/aws-load-balancer-internal"] == "true"
}

eks_internal {
	aws_scheme == "internal"
	aws_controller
}

violation[{"msg": msg}] {
	load_balancer
	platform == "eks"
	not scheme_allowed
	msg := sprintf("a Service of type LoadBalancer must be internal: service.beta.kubernetes.io/aws-load-balancer-scheme is %v and wins over service.beta.kubernetes.io/aws-load-balancer-internal; set it to internal", [aws_scheme])
}

violation[{"msg": msg}] {
	load_balancer
	platform == "eks"
	scheme_allowed
	not eks_internal
	msg := "a Service of type LoadBalancer must be internal: set the annotation service.beta.kubernetes.io/aws-load-balancer-internal: true (the in-tree controller reads only that one; service.beta.kubernetes.io/aws-load-balancer-scheme: internal is enough only for the AWS Load Balancer Controller)"
}

# ---- Ingresses ----

alb_scheme := object.get(annotations, "alb.ingress.kubernetes.io/scheme", "")

alb_class {
	object.get(spec, "ingressClassName", "") == "alb"
}

alb_class {
	object.get(annotations, "kubernetes.io/ingress.class", "") == "alb"
}

alb_public {
	alb_scheme != ""
	alb_scheme != "internal"
}

alb_public {
	alb_scheme == ""
	alb_class
}

violation[{"msg": msg}] {
	ingress
	platform == "eks"
	alb_public
	msg := "an ALB Ingress must be internal: set the annotation alb.ingress.kubernetes.io/scheme: internal"
}

gce_class := object.get(annotations, "kubernetes.io/ingress.class", "")

gce_external {
	gce_class == "gce"
}

gce_external {
	gce_class == ""
	object.get(spec, "ingressClassName", "") == ""
}

violation[{"msg": msg}] {
	ingress
	platform == "gke"
	gce_external
	msg := "an Ingress with no class or with kubernetes.io/ingress.class: gce gets an external Application Load Balancer on GKE: set the annotation kubernetes.io/ingress.class: gce-internal"
}
