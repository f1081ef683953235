"""The coordinator: leadership by a KV lease, facts folded into memory, and the decisions only the leader makes.

lease.py        who leads (hiscrm_presence._coordinator, TTL and compare-and-set renewal)
state.py        the worker, account, login and reply facts folded; config_of(): what a key should hold
liveness.py     which workers are alive (the hiscrm_presence watch)
placement.py    which worker runs which account (pure)
config_sync.py  keeping hiscrm_config equal to the facts, never going back in revision
proxies.py      the hiscrm_proxies values configs carry
requests.py     login and reply requests to workers, refusals, login expiry
status.py       the leader's view for the API (hiscrm_presence._coordinator_status)
service.py      Coordinator: all of the above, one actor deciding
"""
