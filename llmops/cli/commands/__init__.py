"""One module per command. Each defines NAME, HELP, EXAMPLE, configure(parser) and run(args) -> exit code
(and may define ALIASES, other names it answers to).

Command modules import only argparse-level code at import time so `llmops --help` stays fast; steps,
prompt flow and Azure are imported inside run().
"""

COMMANDS = [
    "new",
    "validate",
    "test_flows",
    "flow_test",
    "register_data",
    "experiment",
    "evaluate",
    "report",
    "run",
    "record",
    "embedded",
    "connections",
    "register_model",
    "models",
    "endpoint",
    "image",
    "deploy",
    "test_endpoint",
    "post_prod_eval",
    "azure",
]
