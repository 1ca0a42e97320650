"""The ERP sinks: where inbound records land (files, SQL staging tables, a command).

Each implements the ErpSink port of connector/ports.py (its contract is written there and
checked by tests/sinks/test_sink_contract.py); the files sink also the optional batch write
and render step. connector/app.py builds the one import.erp.sink names, with its settings.
"""
