def test_start_page(client):
    r = client.get("/vi/")
    assert r.status_code == 200, r.text
    assert "Đăng ký khai sinh" in r.text
