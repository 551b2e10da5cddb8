"""`kefu loadtest`: simulated buyers and agents against a live kefu, on this machine only.

`servers` starts (and SIGKILLs) real `kefu serve` processes, `traffic` drives buyers'
messages, clicks and 转人工 presses and agents' replies and closes through the REST API and
WebSockets while recording every answer, `verify` then checks the database against what
the clients were told, and `report` prints throughput, latencies and errors.
"""
