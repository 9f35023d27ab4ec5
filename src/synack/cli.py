"""The ``synack`` command line."""

import click


@click.group()
@click.version_option(package_name="synack")
def main() -> None:
    """synack: TCP you can watch."""
