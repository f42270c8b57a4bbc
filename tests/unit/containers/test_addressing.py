

def test_publish_host_defaults_to_loopback_and_follows_the_runtime() -> None:
    from node.config.schema import Container
    from node.containers.addressing import publish_host

    spec = Container(id="a", image="x")
    assert publish_host(spec, {}) == "127.0.0.1"
    assert publish_host(Container(id="a", image="x", publish_host="10.0.0.2"),
                        {"RUNTIME": "docker"}) == "10.0.0.2"
    # Inside Docker: the gateway behind host.docker.internal, or every address when unknown.
    inside = publish_host(spec, {"RUNTIME": "docker"})
    assert inside != "127.0.0.1"
