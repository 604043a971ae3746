package khardeningresshostsindomain

# Every Ingress host is `<label>.<domain>` or deeper for a listed domain; the
# bare domain, wildcards and rules without a host (which claim every host) are
# refused.

hosts[host] {
	host := input.review.object.spec.rules[_].host
}

hosts[host] {
	host := input.review.object.spec.tls[_].hosts[_]
}

in_domain(host) {
	domain := input.parameters.domains[_]
	endswith(lower(host), concat("", [".", domain]))
}

violation[{"msg": msg}] {
	host := hosts[_]
	contains(host, "*")
	msg := sprintf("Ingress host %v: wildcard hosts are refused", [host])
}

violation[{"msg": msg}] {
	host := hosts[_]
	not contains(host, "*")
	not in_domain(host)
	msg := sprintf("Ingress host %v must be a name under %v", [host, concat(" or ", input.parameters.domains)])
}

violation[{"msg": msg}] {
	rule := input.review.object.spec.rules[_]
	object.get(rule, "host", "") == ""
	msg := sprintf("every Ingress rule needs a host under %v", [concat(" or ", input.parameters.domains)])
}
