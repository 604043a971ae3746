package khardendepartmentlabel

# Objects a member of a mapped group creates carry the department label with
# one of the requester's departments. A requester in no mapped group is not
# concerned (nor is Gatekeeper's audit, whose reviews carry no userInfo). A
# member of two departments' groups must choose: nothing is chosen for them.

mine[d] {
	entry := input.parameters.departments[_]
	entry.groups[_] == input.review.userInfo.groups[_]
	d := entry.department
}

has_label {
	_ = input.review.object.metadata.labels[input.parameters.key]
}

value = v {
	v := input.review.object.metadata.labels[input.parameters.key]
} else = ""

want = w {
	count(mine) == 1
	d := [x | mine[x]][0]
	w := sprintf("department %v must carry the label %v: %v", [d, input.parameters.key, d])
} else = w {
	w := sprintf("departments %v must carry the label %v set to one of them", [concat(", ", sort([x | mine[x]])), input.parameters.key])
}

found = f {
	has_label
	f := sprintf("it has %v: %v", [input.parameters.key, value])
} else = "it has none"

violation[{"msg": msg}] {
	input.review.operation == "CREATE"
	count(mine) > 0
	not mine[value]
	msg := sprintf("a %v created by a member of %v; %v", [input.review.kind.kind, want, found])
}
