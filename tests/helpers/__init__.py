"""What several test folders share: HTML checks, LangGraph test graphs, TLS servers, CLI runners."""
