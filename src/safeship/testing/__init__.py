"""Things other projects and tests can import: a load generator, fakes of upstreams."""
