import pytest
from domains.data.tests.backtests.conftest import bar, series_body
from dsta.kernel.jobs.api import get_job


@pytest.mark.django_db(transaction=True)
def test_smoke(analyst, eth_btc, backtest_worker):
    base = {
        "strategy": "sma_crossover",
        "series": series_body(eth_btc),
        "start": bar(0),
        "end": bar(1500),
    }
    r = analyst.post(
        "/api/v1/backtest/run", {**base, "params": {"fast": 10, "slow": 30}}, format="json"
    )
    run_id = r.json()["id"]
    o = analyst.post(
        "/api/v1/backtest/optimize",
        {**base, "space": {"fast": [5, 10], "slow": [20, 30, 40]}, "chunk_size": 2},
        format="json",
    )
    print(o.status_code, o.json())
    w = analyst.post(
        "/api/v1/backtest/walk-forward",
        {**base, "space": {"fast": [5, 10], "slow": [20, 40]}, "train_bars": 600, "test_bars": 200},
        format="json",
    )
    print(w.status_code, str(w.json())[:500])
    info = backtest_worker.finish(r.json()["job"]["id"])
    m = analyst.post(
        "/api/v1/backtest/monte-carlo", {"run_id": run_id, "n_sims": 200}, format="json"
    )
    print(m.status_code, str(m.json())[:300])
    rep = analyst.get(f"/api/v1/backtest/{run_id}/report", {"format": "html"})
    print(rep.status_code, str(rep.json())[:300])
    rep2 = analyst.get(f"/api/v1/backtest/{run_id}/report", {"format": "pdf"})
    backtest_worker.drain()
    for u in (o.json()["url"], w.json()["url"], m.json()["url"]):
        x = analyst.get(u).json()
        print(u, str(x)[:1500])
    rep = analyst.get(f"/api/v1/backtest/{run_id}/report", {"format": "html"})
    print(rep.status_code, rep["Content-Type"])
    html = b"".join(rep.streaming_content)
    open("/tmp/report.html", "wb").write(html)
    rep = analyst.get(f"/api/v1/backtest/{run_id}/report", {"format": "pdf"})
    print(rep.status_code, rep["Content-Type"])
    pdf = b"".join(rep.streaming_content)
    open("/tmp/report.pdf", "wb").write(pdf)
    rr = analyst.post(f"/api/v1/backtest/{run_id}/rerun")
    print(rr.status_code)
    backtest_worker.drain()
    print(analyst.get(rr.json()["url"]).json()["reproduction"])
    for path, q in (
        ("performance", {"run": [run_id, rr.json()["id"]]}),
        ("equity-curve", {"run": run_id, "max_points": 20}),
        ("sharpe", {"run": run_id, "window": 50, "max_points": 20}),
        ("correlation", {"run": [run_id, rr.json()["id"]]}),
    ):
        x = analyst.get("/api/v1/analytics/" + path, q)
        print(path, x.status_code, str(x.json())[:400])
