def test_probe(strata, receiver, project):
    reg = strata.registry()
    secret = "whsec_" + "A" * 44
    hook = strata.webhook(receiver.url + "/hook", secret=secret)
    name = strata.automation({"event": {"event": "alias.added", "scope": {"type": "registry", "name": reg}, "filter": {"kind": "alias", "op": "eq", "value": "production"}}, "action": {"action": "webhook", "integration": hook, "payload": {"prev": "${previous_version}"}}})
    strata.models(project, reg, 2)
    strata.move_alias(reg, "x", "production", "v0")
    strata.move_alias(reg, "x", "production", "v1")
    reqs = receiver.wait_for(2, 2)
    print([r.json() for r in reqs], reqs[0].headers)
    print(strata.deliveries(name))
