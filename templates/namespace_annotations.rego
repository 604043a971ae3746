package khardennamespaceannotations

# An annotation copied from the namespace, when present, has the namespace's
# value (absent is fine: the mutator adds it).

violation[{"msg": msg}] {
	want := input.parameters.annotations[_]
	have := input.review.object.metadata.annotations[want.key]
	have != want.value
	msg := sprintf("annotation %v must be %v in this namespace (copied from the namespace), not %v", [want.key, want.value, have])
}
