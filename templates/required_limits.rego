package khardenrequiredlimits

# Every container and init container of a pod, or of a workload's pod
# template, sets a limit for each listed resource, in namespaces whose
# LimitRange gives none by default (the Constraint's scope). A request left
# out defaults to the limit; a pod-level limit (spec.resources.limits) covers
# every container. Ephemeral containers cannot have resources.

workload_kinds := {"Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job"}

pod_specs[spec] {
	input.review.kind.kind == "Pod"
	spec := input.review.object.spec
}

pod_specs[spec] {
	workload_kinds[input.review.kind.kind]
	spec := input.review.object.spec.template.spec
}

pod_specs[spec] {
	input.review.kind.kind == "CronJob"
	spec := input.review.object.spec.jobTemplate.spec.template.spec
}

limited(spec, c, r) {
	_ = c.resources.limits[r]
}

limited(spec, c, r) {
	_ = spec.resources.limits[r]
}

violation[{"msg": msg}] {
	spec := pod_specs[_]
	field := ["containers", "initContainers"][_]
	c := spec[field][_]
	missing := [r | r := input.parameters.resources[_]; not limited(spec, c, r)]
	count(missing) > 0
	msg := sprintf("container %v has no limits for %v; namespace %v has no LimitRange to give them: set resources.limits (a request left out defaults to the limit)", [c.name, concat(", ", missing), input.review.namespace])
}
