import time
from tests.identity.test_oidc import *  # noqa
from tests.identity.test_oidc import start, approve

def test_timing(client, idp):
    for i in range(3):
        t0 = time.perf_counter(); url = start(client); t1 = time.perf_counter()
        cb = approve(url); t2 = time.perf_counter()
        r = client.get(cb, follow_redirects=False); t3 = time.perf_counter()
        print(f"\nstart {t1-t0:.3f} approve {t2-t1:.3f} callback {t3-t2:.3f}")
        client.cookies.clear()
