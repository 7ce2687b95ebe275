"""The demo's fixed data: the reference figures it must reproduce, its committees, districts, parks,
names and users (:mod:`devdata.demo` builds the records from it)."""

import datetime

from branches.choices import OrganizationKind, RoleKey, Sex
from enterprises.choices import MassOrganizationKind
from reports.metrics import Metric

D = datetime.date
DAY = datetime.timedelta(days=1)

SEED = 20120227
#: Resolution 09-NQ/TU of the Hanoi Party Committee: the start of the "since 2012" figures.
RESOLUTION_09 = D(2012, 2, 27)
YEAR_START = D(2024, 1, 1)
AS_OF = D(2024, 12, 31)
#: Admissions decided in the last weeks before AS_OF have no ceremony recorded yet.
CEREMONY_PENDING = datetime.timedelta(days=30)
UONG_BI_INTERIM = D(2024, 9, 30)

GC = OrganizationKind.GRASSROOTS_COMMITTEE
GB = OrganizationKind.GRASSROOTS_BRANCH
SB = OrganizationKind.SUBORDINATE_BRANCH
COMMITTEE = OrganizationKind.COMMITTEE
TU = MassOrganizationKind.TRADE_UNION
YU = MassOrganizationKind.YOUTH_UNION

# The reference figures (DOMAIN.md) -------------------------------------------------------------

HANOI_2024 = {
    "party_orgs_established": 100,
    "members_admitted": 1024,
    "owners_admitted": 13,
    "trade_unions_established": 847,
    "trade_union_members_admitted": 122_063,
    "youth_unions_established": 216,
    "youth_union_members_admitted": 6912,
}
HANOI_SINCE_2012 = {
    "party_orgs_established": 1931,
    "members_admitted": 12_717,
    "owners_admitted": 67,
    "unions_established": 8655,
    "union_members_admitted": 587_258,
}
HANOI_ELIGIBLE_ENTERPRISES = 118
HANOI_ONE_OR_TWO_MEMBER_ENTERPRISES = 317
QN_STRUCTURE = {"grassroots_committees": 30, "subordinate_branches": 410, "grassroots_branches": 13, "members": 5482}
QN_CP = {"branches": 28, "members": 461, "owners": 19, "owner_branches": 15}
QN_UB_ADMITTED_BY_SEPTEMBER = 16
QN_UB_ADMITTED_LATER_IN_2024 = 3
QN_UB_TARGET = 25

#: Hanoi's committees below the city: code, name, district code (None: the whole city), 2024 targets
#: in the order party_orgs, members, trade unions, trade-union members, youth unions, youth-union members.
HANOI_COMMITTEES = [
    ("HN-KDN", "Đảng ủy Khối Doanh nghiệp Hà Nội", None, D(2008, 9, 26), (30, 300, 110, 10_000, 60, 1500)),
    ("HN-CG", "Quận ủy Cầu Giấy", "005", D(1997, 1, 1), (15, 150, 60, 5000, 35, 900)),
    ("HN-DD", "Quận ủy Đống Đa", "006", D(1961, 5, 31), (15, 151, 60, 5000, 35, 900)),
    ("HN-HBT", "Quận ủy Hai Bà Trưng", "007", D(1961, 5, 31), (15, 152, 60, 5000, 35, 900)),
    ("HN-BTL", "Quận ủy Bắc Từ Liêm", "021", D(2014, 4, 1), (15, 150, 60, 5000, 35, 800)),
]
TARGET_METRICS = (
    Metric.PARTY_ORGS_ESTABLISHED,
    Metric.MEMBERS_ADMITTED,
    Metric.TRADE_UNIONS_ESTABLISHED,
    Metric.TRADE_UNION_MEMBERS_ADMITTED,
    Metric.YOUTH_UNIONS_ESTABLISHED,
    Metric.YOUTH_UNION_MEMBERS_ADMITTED,
)

#: The demo logins: (role, username, password, organisation code). Passwords are reset on every load.
DEMO_USERS = [
    (RoleKey.SECRETARY, "bithu.hongha", "HongHa@2024!", "HN-CG-HONGHA"),
    (RoleKey.DEPARTMENT, "bantochuc.hn", "BanToChuc@HN2024", "HN"),
    (RoleKey.ADMINISTRATOR, "quantri", "QuanTri@2024!", None),
    (RoleKey.DEPARTMENT, "bantochuc.qn", "BanToChuc@QN2024", "QN"),
    (RoleKey.SECRETARY, "bithu.cailan", "CaiLan@2024!", "QN-HL-CAILAN"),
]

#: The demo users' full names and e-mail addresses (illustrative; the domain .example is reserved).
DEMO_PEOPLE = {
    "bithu.hongha": ("Nguyễn Thị Hằng", "hang.nguyen@honghagarment.example"),
    "bantochuc.hn": ("Trần Văn Minh", "minh.tran@bantochuc.hanoi.example"),
    "quantri": ("Lê Quang Huy", "huy.le@quantri.example"),
    "bantochuc.qn": ("Phạm Thu Trang", "trang.pham@bantochuc.quangninh.example"),
    "bithu.cailan": ("Vũ Đức Thắng", "thang.vu@cangcailan.example"),
}

# Places --------------------------------------------------------------------------------------

#: (code, name, kind, [(code, name, kind), ...]) — district and ward codes are illustrative.
HANOI_DISTRICTS = [
    (
        "001",
        "Quận Ba Đình",
        [
            ("00001", "Phường Phúc Xá"),
            ("00004", "Phường Trúc Bạch"),
            ("00006", "Phường Vĩnh Phúc"),
            ("00008", "Phường Liễu Giai"),
            ("00025", "Phường Kim Mã"),
        ],
    ),
    (
        "002",
        "Quận Hoàn Kiếm",
        [
            ("00037", "Phường Phúc Tân"),
            ("00040", "Phường Đồng Xuân"),
            ("00043", "Phường Hàng Mã"),
            ("00070", "Phường Hàng Bài"),
            ("00082", "Phường Tràng Tiền"),
        ],
    ),
    (
        "004",
        "Quận Long Biên",
        [
            ("00094", "Phường Thượng Thanh"),
            ("00097", "Phường Ngọc Thụy"),
            ("00118", "Phường Gia Thụy"),
            ("00127", "Phường Ngọc Lâm"),
            ("00133", "Phường Long Biên"),
        ],
    ),
    (
        "005",
        "Quận Cầu Giấy",
        [
            ("00157", "Phường Nghĩa Đô"),
            ("00160", "Phường Nghĩa Tân"),
            ("00163", "Phường Mai Dịch"),
            ("00166", "Phường Dịch Vọng"),
            ("00167", "Phường Dịch Vọng Hậu"),
            ("00169", "Phường Quan Hoa"),
            ("00172", "Phường Yên Hoà"),
            ("00175", "Phường Trung Hoà"),
        ],
    ),
    (
        "006",
        "Quận Đống Đa",
        [
            ("00178", "Phường Cát Linh"),
            ("00181", "Phường Văn Miếu"),
            ("00187", "Phường Láng Thượng"),
            ("00190", "Phường Ô Chợ Dừa"),
            ("00199", "Phường Láng Hạ"),
            ("00202", "Phường Khâm Thiên"),
            ("00229", "Phường Trung Liệt"),
        ],
    ),
    (
        "007",
        "Quận Hai Bà Trưng",
        [
            ("00256", "Phường Nguyễn Du"),
            ("00259", "Phường Bạch Đằng"),
            ("00265", "Phường Lê Đại Hành"),
            ("00277", "Phường Bách Khoa"),
            ("00283", "Phường Thanh Nhàn"),
            ("00289", "Phường Minh Khai"),
            ("00292", "Phường Vĩnh Tuy"),
        ],
    ),
    (
        "009",
        "Quận Thanh Xuân",
        [
            ("00364", "Phường Nhân Chính"),
            ("00367", "Phường Thượng Đình"),
            ("00370", "Phường Khương Trung"),
            ("00373", "Phường Khương Mai"),
        ],
    ),
    (
        "021",
        "Quận Bắc Từ Liêm",
        [
            ("00598", "Phường Thượng Cát"),
            ("00601", "Phường Liên Mạc"),
            ("00604", "Phường Đông Ngạc"),
            ("00607", "Phường Đức Thắng"),
            ("00613", "Phường Xuân Đỉnh"),
            ("00619", "Phường Cổ Nhuế 1"),
            ("00622", "Phường Phú Diễn"),
        ],
    ),
]
QUANG_NINH_DISTRICTS = [
    (
        "193",
        "Thành phố Hạ Long",
        [
            ("06658", "Phường Bãi Cháy"),
            ("06661", "Phường Hồng Gai"),
            ("06664", "Phường Hà Khẩu"),
            ("06667", "Phường Giếng Đáy"),
            ("06670", "Phường Hà Lầm"),
            ("06673", "Phường Cao Xanh"),
            ("06676", "Phường Hà Tu"),
        ],
    ),
    (
        "194",
        "Thành phố Móng Cái",
        [
            ("06712", "Phường Ka Long"),
            ("06715", "Phường Trần Phú"),
            ("06718", "Phường Hải Hòa"),
            ("06721", "Phường Ninh Dương"),
            ("06724", "Phường Hải Yên"),
        ],
    ),
    (
        "195",
        "Thành phố Cẩm Phả",
        [
            ("06760", "Phường Cẩm Thạch"),
            ("06763", "Phường Cẩm Thủy"),
            ("06766", "Phường Cẩm Trung"),
            ("06769", "Phường Cẩm Thành"),
            ("06772", "Phường Cẩm Tây"),
            ("06775", "Phường Cửa Ông"),
            ("06778", "Phường Mông Dương"),
            ("06781", "Phường Quang Hanh"),
        ],
    ),
    (
        "196",
        "Thành phố Uông Bí",
        [
            ("06808", "Phường Vàng Danh"),
            ("06811", "Phường Thanh Sơn"),
            ("06814", "Phường Bắc Sơn"),
            ("06817", "Phường Quang Trung"),
            ("06820", "Phường Trưng Vương"),
            ("06823", "Phường Yên Thanh"),
            ("06826", "Phường Phương Đông"),
        ],
    ),
    ("202", "Huyện Ba Chẽ", [("06934", "Thị trấn Ba Chẽ"), ("06937", "Xã Thanh Sơn"), ("06940", "Xã Nam Sơn")]),
    (
        "206",
        "Thị xã Quảng Yên",
        [
            ("07069", "Phường Quảng Yên"),
            ("07072", "Phường Đông Mai"),
            ("07075", "Phường Minh Thành"),
            ("07078", "Phường Cộng Hòa"),
            ("07081", "Phường Nam Hòa"),
            ("07084", "Phường Yên Giang"),
        ],
    ),
]
HANOI_PARKS = "Khu công nghiệp Thăng Long, Khu công nghiệp Nam Thăng Long, Khu công nghiệp Nội Bài".split(", ")
QN_PARKS = (
    "Khu công nghiệp Cái Lân, Khu công nghiệp Việt Hưng, Khu công nghiệp Đông Mai, Khu công nghiệp Hải Yên"
).split(", ")
STREETS = (
    "Trần Duy Hưng, Xuân Thủy, Cầu Giấy, Láng Hạ, Tôn Đức Thắng, Nguyễn Chí Thanh, Phạm Văn Đồng, "
    "Hoàng Quốc Việt, Bạch Mai, Minh Khai, Lê Duẩn, Giải Phóng, Kim Mã, Đội Cấn, Nguyễn Trãi, "
    "Trần Phú, Lê Thánh Tông, Hạ Long, Nguyễn Văn Cừ, Quang Trung, Bà Triệu, Lý Thường Kiệt"
).split(", ")

# Names ---------------------------------------------------------------------------------------

SURNAMES = (
    ["Nguyễn"] * 8
    + ["Trần"] * 3
    + ["Lê"] * 3
    + ["Phạm"] * 2
    + ["Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ"] * 2
    + ["Huỳnh", "Phan", "Võ", "Hồ", "Ngô", "Dương", "Lý", "Đinh", "Trịnh", "Mai", "Cao", "Lương", "Đào", "Hà"]
)
MIDDLE = {
    Sex.MALE: "Văn Đức Minh Quang Hữu Công Thành Xuân Mạnh Tiến Ngọc Trọng Đình".split(),
    Sex.FEMALE: "Thị Thị Thu Ngọc Thanh Phương Hồng Minh Thùy Kim Diệu Bích".split(),
}
GIVEN = {
    Sex.MALE: (
        "Anh Bình Cường Dũng Đức Giang Hải Hiếu Hoàng Hùng Huy Khánh Khoa Lâm Long Mạnh Nam Nghĩa Phong "
        "Phúc Quân Quang Sơn Tâm Thắng Thành Thịnh Toàn Trung Tuấn Tùng Việt Vinh Vũ"
    ).split(),
    Sex.FEMALE: (
        "An Anh Châu Chi Dung Giang Hà Hạnh Hằng Hiền Hoa Huệ Hương Lan Liên Linh Loan Mai My Nga Ngân "
        "Ngọc Nhung Oanh Phương Quỳnh Thảo Thủy Trang Uyên Vân Yến"
    ).split(),
}
CORE_A = (
    "An Bình Đại Hoàng Hưng Hồng Kim Minh Nam Phú Phúc Quang Sao Tân Thái Thành Thiên Trường Việt "
    "Vĩnh Xuân Hải Đông Bảo Gia Hòa Long Ngọc Thịnh Toàn"
).split()
CORE_B = (
    "Phát Thịnh Long Hưng Minh Anh Đạt Cường Sơn Hà Thành Lộc Tiến Khang Nguyên Phong Vượng Quang "
    "Hải Việt Á Mai Dương Lâm Hòa"
).split()
SECTORS = (
    "Thương mại và Dịch vụ, Xây dựng, Đầu tư và Phát triển, Công nghệ, Vận tải, May mặc, Thực phẩm, "
    "Cơ khí, Điện tử, Dược phẩm, Du lịch, Bất động sản, Môi trường, In và Bao bì, Nội thất, "
    "Xuất nhập khẩu, Phần mềm, Tư vấn Thiết kế, Vật liệu Xây dựng, Thiết bị Y tế"
).split(", ")
FOREIGN_BRANDS = (
    "Kaneda, Hoshino, Tanabe Seiki, Seowon, Hanbit, Jinhua, Taiko, Yamabe, Miyako, Sunwell, Daeil, "
    "Kyowa Denki, Haneul, Shinwa, Orient Star, Meikou"
).split(", ")
FOREIGN_LINES = (
    "Electronics, Precision, Textile, Packaging, Materials, Industrial, Components, Auto Parts, Plastics, Optical"
).split(", ")
SCHOOLS = "Trường Mầm non tư thục, Trường Tiểu học tư thục, Trường Trung học phổ thông tư thục".split(", ")
CLINICS = "Bệnh viện Đa khoa, Phòng khám Đa khoa, Phòng khám Nha khoa".split(", ")
DEPARTMENTS = (
    "Phòng Kinh doanh, Phòng Kỹ thuật, Phòng Hành chính - Nhân sự, Phòng Tài chính - Kế toán, "
    "Xưởng Sản xuất số 1, Xưởng Sản xuất số 2, Xưởng Cơ điện, Đội Thi công số 1, Đội Vận tải, "
    "Khối Văn phòng, Phòng Kế hoạch - Vật tư, Phân xưởng Khai thác, Phòng An toàn, Chi nhánh Miền Bắc"
).split(", ")

#: Enterprises named in the news reports (or given to the demo secretary): never generated at random.
SPECIAL_ENTERPRISES = {
    "Công ty TNHH Thương mại và Dịch vụ Hồng Hà",
    "Công ty TNHH Sản xuất Nguyên liệu Giấy Việt Nhật Cái Lân",
    "Công ty TNHH Thành Đạt Uông Bí",
    "Công ty Cổ phần Phát triển Nhà Cẩm Phả",
    "Doanh nghiệp Phú Cường",
}

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"

# The two-tier reform (Quy định 294-QĐ/TW; district level abolished on 1 July 2025) -------------

#: The day the district committees ended and the ward and commune committees began.
REFORM = D(2025, 7, 1)
#: The decisions (invented numbers) establishing the new committees, the day before the reform.
REFORM_DECISION_DATE = D(2025, 6, 30)
#: The last day the demo's fixed history covers.
DEMO_END = D(2026, 11, 30)
#: The committees of each district that ended on REFORM: (code, name, locality of its seat).
#: The district's organisations go to them in turn (Hồng Hà to Nghĩa Đô); a committee below the
#: district is merged into the first one.
REFORM_SUCCESSORS = {
    "HN-CG": [
        ("HN-CAUGIAY", "Đảng ủy phường Cầu Giấy", "Phường Quan Hoa"),
        ("HN-NGHIADO", "Đảng ủy phường Nghĩa Đô", "Phường Nghĩa Đô"),
        ("HN-YENHOA", "Đảng ủy phường Yên Hòa", "Phường Yên Hoà"),
    ],
    "HN-DD": [
        ("HN-DONGDA", "Đảng ủy phường Đống Đa", "Phường Láng Hạ"),
        ("HN-VANMIEU", "Đảng ủy phường Văn Miếu - Quốc Tử Giám", "Phường Văn Miếu"),
        ("HN-ODUA", "Đảng ủy phường Ô Chợ Dừa", "Phường Ô Chợ Dừa"),
        ("HN-LANG", "Đảng ủy phường Láng", "Phường Láng Thượng"),
    ],
    "HN-HBT": [
        ("HN-HAIBATRUNG", "Đảng ủy phường Hai Bà Trưng", "Phường Nguyễn Du"),
        ("HN-BACHMAI", "Đảng ủy phường Bạch Mai", "Phường Bách Khoa"),
        ("HN-VINHTUY", "Đảng ủy phường Vĩnh Tuy", "Phường Vĩnh Tuy"),
    ],
    "HN-BTL": [
        ("HN-DONGNGAC", "Đảng ủy phường Đông Ngạc", "Phường Đông Ngạc"),
        ("HN-THUONGCAT", "Đảng ủy phường Thượng Cát", "Phường Thượng Cát"),
        ("HN-XUANDINH", "Đảng ủy phường Xuân Đỉnh", "Phường Xuân Đỉnh"),
        ("HN-PHUDIEN", "Đảng ủy phường Phú Diễn", "Phường Phú Diễn"),
    ],
    "QN-CP": [
        ("QN-CAMPHA", "Đảng ủy phường Cẩm Phả", "Phường Cẩm Trung"),
        ("QN-QUANGHANH", "Đảng ủy phường Quang Hanh", "Phường Quang Hanh"),
        ("QN-CUAONG", "Đảng ủy phường Cửa Ông", "Phường Cửa Ông"),
        ("QN-MONGDUONG", "Đảng ủy phường Mông Dương", "Phường Mông Dương"),
    ],
    "QN-UB": [
        ("QN-UONGBI", "Đảng ủy phường Uông Bí", "Phường Trưng Vương"),
        ("QN-VANGDANH", "Đảng ủy phường Vàng Danh", "Phường Vàng Danh"),
        ("QN-YENTU", "Đảng ủy phường Yên Tử", "Phường Phương Đông"),
    ],
}
#: Hà Nội's 2025 targets, set in January on the committees (carried to the successors on REFORM):
#: organisations, admissions, trade unions, their members, youth unions, their members.
HANOI_TARGETS_2025 = {
    "HN-KDN": (30, 310, 100, 9000, 55, 1400),
    "HN-CG": (15, 150, 55, 4800, 30, 850),
    "HN-DD": (15, 150, 55, 4800, 30, 850),
    "HN-HBT": (15, 150, 55, 4800, 30, 850),
    "HN-BTL": (15, 150, 55, 4800, 30, 750),
}
#: The decision (an invented number) of the reform's changes, dated REFORM_DECISION_DATE.
REFORM_DECISION = "2500-QĐ/TU"

#: The localities of REFORM: every district ends (its wards and communes then sit directly under
#: the province), and the wards of the districts whose committees ended merge into the new wards,
#: each the ward where its committee sits, renamed as the committee: seat → (new name, wards merged
#: into it). Which old ward went where is simplified (a real new ward also took parts of others).
REFORM_WARD_MERGES = {
    "Phường Quan Hoa": ("Phường Cầu Giấy", ("Phường Dịch Vọng", "Phường Dịch Vọng Hậu", "Phường Mai Dịch")),
    "Phường Nghĩa Đô": ("Phường Nghĩa Đô", ("Phường Nghĩa Tân",)),
    "Phường Yên Hoà": ("Phường Yên Hòa", ("Phường Trung Hoà",)),
    "Phường Láng Hạ": ("Phường Đống Đa", ("Phường Trung Liệt",)),
    "Phường Văn Miếu": ("Phường Văn Miếu - Quốc Tử Giám", ("Phường Cát Linh", "Phường Khâm Thiên")),
    "Phường Ô Chợ Dừa": ("Phường Ô Chợ Dừa", ()),
    "Phường Láng Thượng": ("Phường Láng", ()),
    "Phường Nguyễn Du": ("Phường Hai Bà Trưng", ("Phường Lê Đại Hành",)),
    "Phường Bách Khoa": ("Phường Bạch Mai", ("Phường Thanh Nhàn", "Phường Minh Khai")),
    "Phường Vĩnh Tuy": ("Phường Vĩnh Tuy", ("Phường Bạch Đằng",)),
    "Phường Đông Ngạc": ("Phường Đông Ngạc", ("Phường Đức Thắng",)),
    "Phường Thượng Cát": ("Phường Thượng Cát", ("Phường Liên Mạc",)),
    "Phường Xuân Đỉnh": ("Phường Xuân Đỉnh", ("Phường Cổ Nhuế 1",)),
    "Phường Phú Diễn": ("Phường Phú Diễn", ()),
    "Phường Cẩm Trung": ("Phường Cẩm Phả", ("Phường Cẩm Thủy", "Phường Cẩm Thành", "Phường Cẩm Tây")),
    "Phường Quang Hanh": ("Phường Quang Hanh", ("Phường Cẩm Thạch",)),
    "Phường Cửa Ông": ("Phường Cửa Ông", ()),
    "Phường Mông Dương": ("Phường Mông Dương", ()),
    "Phường Trưng Vương": ("Phường Uông Bí", ("Phường Quang Trung", "Phường Thanh Sơn", "Phường Yên Thanh")),
    "Phường Vàng Danh": ("Phường Vàng Danh", ("Phường Bắc Sơn",)),
    "Phường Phương Đông": ("Phường Yên Tử", ()),
}
#: The resolution (an invented number) of the Standing Committee of the National Assembly that
#: arranged the communes of each province, and its date.
LOCALITY_REFORM_DECISION = "2501/NQ-UBTVQH15"
LOCALITY_REFORM_DECISION_DATE = D(2025, 6, 16)
