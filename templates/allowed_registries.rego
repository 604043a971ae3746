package khardenallowedregistries

# Every image of a pod, or of a workload's pod template, comes from a listed
# registry prefix. A host entry (`registry.example.com`) allows everything
# under `<host>/`; an entry with a repository path allows that repository only:
# the entry itself, `<entry>:<tag>`, `<entry>@<digest>` (never `<entry>/more`
# or `<entry>more`).

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

images[image] {
	spec := pod_specs[_]
	field := ["containers", "initContainers", "ephemeralContainers"][_]
	image := spec[field][_].image
}

# The repository an image comes from, with Docker's defaults written out: no
# registry host means docker.io, a bare name means docker.io/library.
full_name(image) = image {
	regex.match(`^(localhost|[^/]*[.:][^/]*)/`, image)
}

full_name(image) = concat("", ["docker.io/", image]) {
	not regex.match(`^(localhost|[^/]*[.:][^/]*)/`, image)
	contains(image, "/")
}

full_name(image) = concat("", ["docker.io/library/", image]) {
	not contains(image, "/")
}

allowed(name) {
	entry := input.parameters.registries[_]
	not contains(entry, "/")
	startswith(name, concat("", [entry, "/"]))
}

allowed(name) {
	entry := input.parameters.registries[_]
	contains(entry, "/")
	name == entry
}

allowed(name) {
	entry := input.parameters.registries[_]
	contains(entry, "/")
	startswith(name, entry)
	regex.match(`^[:@][^/]*$`, trim_prefix(name, entry))
}

violation[{"msg": msg}] {
	image := images[_]
	name := full_name(image)
	not allowed(name)
	msg := sprintf("image %v (%v) is not from an allowed registry; allowed: %v", [image, name, concat(", ", input.parameters.registries)])
}
