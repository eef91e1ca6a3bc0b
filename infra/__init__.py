"""The CDK app: one shared stack per stage plus one nested stack per bounded context, all built from
``functions.manifest.PLATFORM`` (see DESIGN.md §2). Entry point: ``infra/app.py`` (run by ``cdk`` via ``cdk.json``).
"""
