"""The workflows: what each operation plans, how it runs, and its steps for later; no Slack.

One module per operation (offboard with disable, enable, onboard, rotate with its scheduled
steps, deactivate, delete-key, account alias), each with a plan and an ``execute`` returning a
:class:`~bot.ops.context.RunReport`. They tell people things only through the
:class:`~bot.ops.context.Notifier` the chat layer implements; :mod:`bot.ops.registry` is the one
table every other layer reads an operation from.
"""
