package khardenwindowspods

# Pods in Windows namespaces select Windows nodes, tolerate their taint and
# say they are Windows pods (spec.os.name), which Pod Security reads.

violation[{"msg": msg}] {
	not input.review.object.spec.nodeSelector[input.parameters.nodeSelectorKey] == input.parameters.nodeSelectorValue
	msg := sprintf("pods in this namespace run on Windows nodes: set nodeSelector %v: %v", [input.parameters.nodeSelectorKey, input.parameters.nodeSelectorValue])
}

violation[{"msg": msg}] {
	not input.review.object.spec.os.name == input.parameters.osName
	msg := sprintf("pods in this namespace run on Windows nodes: set spec.os.name: %v", [input.parameters.osName])
}

violation[{"msg": msg}] {
	not tolerated
	msg := sprintf("pods in this namespace run on Windows nodes: add the toleration %v=%v:%v", [input.parameters.tolerationKey, input.parameters.tolerationValue, input.parameters.tolerationEffect])
}

tolerated {
	t := input.review.object.spec.tolerations[_]
	t.key == input.parameters.tolerationKey
	value_ok(t)
	effect_ok(t)
}

value_ok(t) {
	t.operator == "Exists"
}

value_ok(t) {
	object.get(t, "value", "") == input.parameters.tolerationValue
}

effect_ok(t) {
	object.get(t, "effect", "") == ""
}

effect_ok(t) {
	t.effect == input.parameters.tolerationEffect
}
