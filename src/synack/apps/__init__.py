"""Applications over ``synack.aio`` streams, for the lab (``synack listen`` and
``synack connect``): servers, the lab session that runs them on the TUN
driver, and a live trace of what crosses the device."""
