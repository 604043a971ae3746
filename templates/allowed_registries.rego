package khardenallowedregistries

# Every image of a pod, or of a workload's pod template, is admitted by a
# listed entry: everything under a host or path (`host/*`, `host/path/*`),
# one repository (`host/path/repo`: any tag or digest, never `repo/more` or
# `repomore`), or one image (`host/path/repo:tag`, `host/path/repo@digest`).

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

# The image with Docker's defaults written out, as container runtimes read it
# (distribution/reference): a first segment is a registry host when it has a
# `.` or `:`, is `localhost` or has upper case; otherwise the image is on
# docker.io. Docker Hub's other names become docker.io, and a Hub image
# without a namespace is under `library/`.
host_form(image) = image {
	regex.match(`^(localhost|[^/]*[.:A-Z][^/]*)/`, image)
}

host_form(image) = concat("", ["docker.io/", image]) {
	not regex.match(`^(localhost|[^/]*[.:A-Z][^/]*)/`, image)
}

hub_aliases := ["index.docker.io/", "registry-1.docker.io/"]

hub_form(name) = concat("", ["docker.io/", trim_prefix(name, alias)]) {
	alias := hub_aliases[_]
	startswith(name, alias)
}

hub_form(name) = name {
	not startswith(name, hub_aliases[0])
	not startswith(name, hub_aliases[1])
}

full_name(image) = concat("", ["docker.io/library/", rest]) {
	name := hub_form(host_form(image))
	startswith(name, "docker.io/")
	rest := trim_prefix(name, "docker.io/")
	not contains(rest, "/")
}

full_name(image) = name {
	name := hub_form(host_form(image))
	not official(name)
}

official(name) {
	startswith(name, "docker.io/")
	not contains(trim_prefix(name, "docker.io/"), "/")
}

# The entry forms (kharden writes them normalised): `…/*` everything under a
# host or path, at a `/` boundary; `repo@digest` that image (with any tag
# beside the digest: the digest decides); `repo:tag` that tag (an image
# without tag or digest is `:latest`); `repo` that repository, any tag or
# digest.
under(entry) {
	endswith(entry, "/*")
}

by_digest(entry) {
	contains(entry, "@")
}

by_tag(entry) {
	not under(entry)
	not by_digest(entry)
	parts := split(entry, "/")
	contains(parts[count(parts) - 1], ":")
}

repository(entry) {
	not under(entry)
	not by_digest(entry)
	not by_tag(entry)
}

allowed(name) {
	entry := input.parameters.registries[_]
	under(entry)
	startswith(name, trim_suffix(entry, "*"))
}

allowed(name) {
	entry := input.parameters.registries[_]
	not under(entry)
	name == entry
}

allowed(name) {
	entry := input.parameters.registries[_]
	by_digest(entry)
	parts := split(entry, "@")
	repo := concat("", [parts[0], ":"])
	digest := concat("", ["@", parts[1]])
	startswith(name, repo)
	endswith(name, digest)
	count(name) > count(entry) + 1
	tag := substring(name, count(repo), count(name) - count(repo) - count(digest))
	not regex.match(`[/:@]`, tag)
}

allowed(name) {
	entry := input.parameters.registries[_]
	by_tag(entry)
	concat("", [name, ":latest"]) == entry
}

allowed(name) {
	entry := input.parameters.registries[_]
	repository(entry)
	startswith(name, entry)
	regex.match(`^[:@][^/]*$`, trim_prefix(name, entry))
}

violation[{"msg": msg}] {
	image := images[_]
	name := full_name(image)
	not allowed(name)
	msg := sprintf("image %v (%v) is not from an allowed registry; allowed: %v", [image, name, concat(", ", input.parameters.registries)])
}
