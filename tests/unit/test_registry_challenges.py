from watcher.registry import Challenge, parse_challenges


def test_docker_hub_bearer_challenge() -> None:
    [challenge] = parse_challenges([
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",'
        'scope="repository:library/debian:pull"'
    ])
    assert challenge.scheme == "bearer"
    assert challenge.realm == "https://auth.docker.io/token"
    assert challenge.params["service"] == "registry.docker.io"
    assert challenge.params["scope"] == "repository:library/debian:pull"


def test_quoted_values_keep_commas_and_escapes() -> None:
    [challenge] = parse_challenges(
        ['Bearer realm="https://a.example/t",scope="repository:a:pull,push",x="say \\"hi\\""']
    )
    assert challenge.params["scope"] == "repository:a:pull,push"
    assert challenge.params["x"] == 'say "hi"'


def test_several_challenges_in_one_value_and_across_values() -> None:
    found = parse_challenges([
        'Basic realm="registry", Bearer realm="https://t.example/token", service="svc"',
        "Negotiate abc123==",
    ])
    assert [c.scheme for c in found] == ["basic", "bearer", "negotiate"]
    assert found[0].realm == "registry"
    assert found[1].params == {"realm": "https://t.example/token", "service": "svc"}
    assert found[2].token68 == "abc123=="


def test_scheme_and_parameter_names_are_case_insensitive_values_are_not() -> None:
    [challenge] = parse_challenges(['BEARER Realm="https://T.example/Token" , SERVICE=Svc'])
    assert challenge == Challenge("bearer", {"realm": "https://T.example/Token", "service": "Svc"})


def test_bare_scheme_spaces_and_garbage() -> None:
    assert parse_challenges(["Basic"]) == [Challenge("basic")]
    assert parse_challenges(["", " , ,"]) == []
    found = parse_challenges(['  Bearer   realm = "r" ,, service="s"  , =junk'])
    assert found == [Challenge("bearer", {"realm": "r", "service": "s"})]
