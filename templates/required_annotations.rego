package khardenrequiredannotations

# Workloads carry every listed annotation with a non-empty value, whoever
# creates them: `metadata.ownerReferences` is written by the client, so
# claiming an owner exempts nothing. Controllers copy annotations from their
# owner (a Deployment's to its ReplicaSets, a pod template's to the pods, a
# CronJob's job template's to its Jobs), so the templates must carry them too:
# then what the controllers create passes as well.

template_kinds := {"Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job"}

get(o, path) = v {
	v := object.get(object.get(object.get(o, path[0], {}), path[1], {}), path[2], {})
}

places[["metadata", md]] {
	md := object.get(input.review.object, "metadata", {})
}

places[["spec.template.metadata", md]] {
	template_kinds[input.review.kind.kind]
	md := get(input.review.object, ["spec", "template", "metadata"])
}

places[["spec.jobTemplate.metadata", md]] {
	input.review.kind.kind == "CronJob"
	md := get(input.review.object, ["spec", "jobTemplate", "metadata"])
}

places[["spec.jobTemplate.spec.template.metadata", md]] {
	input.review.kind.kind == "CronJob"
	job := get(input.review.object, ["spec", "jobTemplate", "spec"])
	md := object.get(object.get(job, "template", {}), "metadata", {})
}

present(md, key) {
	trim_space(md.annotations[key]) != ""
}

violation[{"msg": msg}] {
	place := places[_]
	key := input.parameters.annotations[_]
	not present(place[1], key)
	msg := sprintf("a %v must carry the annotation %v with a non-empty value in %v.annotations", [input.review.kind.kind, key, place[0]])
}
