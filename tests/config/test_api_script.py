"""The issue's "done when": a script holding only a token does the whole job, within its scope.

An administrator's token (from ``manage.py grant_role … --token``) builds the tree and the
accounts; the department's token sets the targets of the committees below it; each secretary's
token records enterprises, members and mass organisations of their own branch. Then the
department reads the fulfilment report, and every token is refused outside its scope.
"""

from io import StringIO

from django.core.management import call_command
from rest_framework.test import APIClient

from tests.api_conftest import *  # noqa: F403
from tests.api_conftest import API


class Script:
    """What a script does with a token: JSON requests, checking the status of each answer."""

    def __init__(self, token):
        self.client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
        self.client.credentials(HTTP_AUTHORIZATION=f"Token {token}")

    def call(self, method, path, data=None, expect=200):
        if method == "get":
            response = self.client.get(f"{API}{path}", data)
        else:
            response = getattr(self.client, method)(f"{API}{path}", data, format="json")
        assert response.status_code == expect, (method, path, response.status_code, response.content[:500])
        return response.json() if response.content else None

    def get(self, path, params=None, expect=200):
        return self.call("get", path, params, expect)

    def post(self, path, data=None, expect=201):
        return self.call("post", path, data, expect)


def token_from_the_command_line(*args):
    out = StringIO()
    call_command("grant_role", *args, "--token", stdout=out)
    return out.getvalue().strip().splitlines()[-1]


def build_tree(admin):
    admin.post("localities/", {"code": "01", "name": "Hà Nội", "kind": "province"})
    admin.post("localities/", {"code": "00001", "name": "Phường Cầu Giấy", "kind": "ward", "parent": "01"})
    organizations = [
        ("HN", "Thành ủy Hà Nội", "committee", None),
        ("HN-KDN", "Đảng ủy Khối doanh nghiệp", "committee", "HN"),
        ("HN-CG", "Đảng ủy các đơn vị kinh tế tư nhân Cầu Giấy", "committee", "HN-KDN"),
        ("HN-DD", "Đảng ủy các đơn vị kinh tế tư nhân Đống Đa", "committee", "HN-KDN"),
        ("HN-CG-01", "Chi bộ Công ty An Phát", "grassroots_branch", "HN-CG"),
        ("HN-DD-01", "Chi bộ Công ty Bình Minh", "grassroots_branch", "HN-DD"),
    ]
    for code, name, kind, parent in organizations:
        admin.post(
            "organizations/",
            {
                "code": code,
                "name": name,
                "kind": kind,
                "parent": parent,
                "locality": "01",
                "established_on": "2012-02-27",
            },
        )


def account(admin, username, role, organization):
    user = admin.post("users/", {"username": username, "password": "a-long-enough-passphrase"})
    admin.post("role-assignments/", {"user": username, "role": role, "organization": organization})
    return admin.post(f"users/{user['id']}/token/", expect=200)["token"]


def record_branch(secretary, *, branch, committee, tax_code, people):
    secretary.post(
        "enterprises/",
        {
            "tax_code": tax_code,
            "name": f"Công ty của {branch}",
            "ownership": "joint_stock",
            "locality": "00001",
            "size_class": "medium",
            "employees": 180,
            "managing_committee": committee,
        },
    )
    for index, (name, owner) in enumerate(people):
        secretary.post(
            "members/",
            {
                "organization": branch,
                "admitted_on": f"2025-0{index + 3}-15",
                "full_name": name,
                "sex": "female" if index % 2 else "male",
                "date_of_birth": "1990-06-01",
                "citizen_id": f"0010900{tax_code[-5:]}",
                "enterprise": tax_code,
                "is_business_owner": owner,
                "position": "owner" if owner else "worker",
            },
        )
    union = secretary.post(
        "mass-organizations/",
        {
            "kind": "trade_union",
            "name": f"Công đoàn {branch}",
            "enterprise": tax_code,
            "established_on": "2025-02-01",
            "founding_members": 30,
        },
    )
    secretary.post(
        f"mass-organizations/{union['id']}/returns/",
        {"date": "2025-09-30", "members_total": 45, "members_admitted": 15},
    )


def test_a_script_with_only_tokens_builds_and_reports_within_its_scope(db):
    admin = Script(token_from_the_command_line("root", "administrator", "-"))
    build_tree(admin)
    department = Script(account(admin, "ban_to_chuc", "department", "HN-KDN"))
    secretary_cg = Script(account(admin, "bi_thu_cg", "secretary", "HN-CG-01"))
    secretary_dd = Script(account(admin, "bi_thu_dd", "secretary", "HN-DD-01"))

    # The department sets the 2025 targets of the two committees directly below its own.
    department.post(
        "targets/bulk/",
        {
            "year": 2025,
            "targets": [
                {"committee": "HN-CG", "metric": "members_admitted", "value": 4},
                {"committee": "HN-DD", "metric": "members_admitted", "value": 2},
                {"committee": "HN-CG", "metric": "trade_unions_established", "value": 1},
                {"committee": "HN-DD", "metric": "trade_unions_established", "value": 2},
            ],
        },
        expect=200,
    )

    # Each secretary records their own branch: an enterprise, members, a trade union and a return.
    record_branch(
        secretary_cg,
        branch="HN-CG-01",
        committee="HN-CG",
        tax_code="0101245486",
        people=[("Nguyễn Văn An", True)],
    )
    record_branch(
        secretary_dd,
        branch="HN-DD-01",
        committee="HN-DD",
        tax_code="0100109106",
        people=[("Trần Thị Bình", False)],
    )
    secretary_cg.post(
        "members/",
        {
            "organization": "HN-CG-01",
            "admitted_on": "2025-07-01",
            "full_name": "Lê Văn Cường",
            "sex": "male",
            "date_of_birth": "1992-01-01",
            "citizen_id": "001092000003",
            "enterprise": "0101245486",
        },
    )

    report = department.get("reports/fulfilment/", {"organization": "HN-KDN", "year": 2025, "as_of": "2025-12-31"})
    shown = {row["metric"]: row["display"] for row in report["rows"]}
    assert shown["members_admitted"] == "3/6 (50%)"
    assert shown["owners_admitted"] == "1"
    assert shown["trade_unions_established"] == "2/3 (66.7%)"
    assert shown["trade_union_members_admitted"] == "90"  # 2 × (30 founding + 15 admitted since)
    by_child = {
        part["organization"]["code"]: {row["metric"]: row["display"] for row in part["rows"]}
        for part in report["children"]
    }
    assert by_child["HN-CG"]["members_admitted"] == "2/4 (50%)"
    assert by_child["HN-DD"]["members_admitted"] == "1/2 (50%)"
    own = secretary_cg.get("reports/fulfilment/", {"organization": "HN-CG-01", "year": 2025})
    assert {row["metric"]: row["actual"] for row in own["rows"]}["members_admitted"] == 2

    # Nothing outside the scope: the other branch's records and reports are 404, writes into it 400/403.
    other_member = secretary_dd.get("members/")["results"][0]["id"]
    secretary_cg.get(f"members/{other_member}/", expect=404)
    secretary_cg.get("organizations/by-code/HN-DD-01/", expect=404)
    secretary_cg.get("enterprises/by-tax-code/0100109106/", expect=404)
    secretary_cg.get("reports/fulfilment/", {"organization": "HN-DD-01", "year": 2025}, expect=404)
    secretary_cg.get("reports/fulfilment/", {"organization": "HN-KDN", "year": 2025}, expect=404)
    secretary_cg.call(
        "post", f"members/{other_member}/transfer/", {"on": "2025-10-01", "to_organization": None}, expect=404
    )
    refused = secretary_cg.post(
        "members/",
        {
            "organization": "HN-DD-01",
            "admitted_on": "2025-07-01",
            "full_name": "X",
            "sex": "male",
            "date_of_birth": "1992-01-01",
            "citizen_id": "001092000009",
        },
        expect=400,
    )
    assert list(refused) == ["organization"]
    assert [o["code"] for o in secretary_cg.get("organizations/")["results"]] == ["HN-CG-01"]
    department.post("members/", {"organization": "HN-CG-01"}, expect=403)
    department.post(
        "targets/", {"committee": "HN-KDN", "year": 2025, "metric": "members_admitted", "value": 9}, expect=403
    )
    department.get("reports/fulfilment/", {"organization": "HN", "year": 2025}, expect=404)
    secretary_cg.post("users/", {"username": "intruder"}, expect=403)
    assert len(admin.get("members/")["results"]) == 3
