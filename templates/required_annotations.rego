package khardenrequiredannotations

# Workloads carry every listed annotation with a non-empty value. Objects a
# controller creates (a Deployment's pods, a CronJob's Jobs) are left to the
# owner, which this rule already checked.

controlled {
	ref := input.review.object.metadata.ownerReferences[_]
	ref.controller == true
}

present(key) {
	value := input.review.object.metadata.annotations[key]
	trim_space(value) != ""
}

violation[{"msg": msg}] {
	not controlled
	key := input.parameters.annotations[_]
	not present(key)
	msg := sprintf("a %v must carry the annotation %v with a non-empty value", [input.review.kind.kind, key])
}
