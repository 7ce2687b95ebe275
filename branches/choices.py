from django.db import models
from django.utils.translation import gettext_lazy as _


class OrganizationKind(models.TextChoices):
    COMMITTEE = "committee", _("committee above grassroots level")
    GRASSROOTS_COMMITTEE = "grassroots_committee", _("grassroots Party committee")
    GRASSROOTS_BRANCH = "grassroots_branch", _("grassroots Party branch")
    SUBORDINATE_BRANCH = "subordinate_branch", _("subordinate branch")


#: Kinds that count as "Party organisations established" (rule 3: grassroots and subordinate).
GRASSROOTS_KINDS = (
    OrganizationKind.GRASSROOTS_COMMITTEE,
    OrganizationKind.GRASSROOTS_BRANCH,
    OrganizationKind.SUBORDINATE_BRANCH,
)

#: The kind a parent must have, per kind of child (None: may be a root).
ALLOWED_PARENT_KINDS = {
    OrganizationKind.COMMITTEE: {None, OrganizationKind.COMMITTEE},
    OrganizationKind.GRASSROOTS_COMMITTEE: {OrganizationKind.COMMITTEE},
    OrganizationKind.GRASSROOTS_BRANCH: {OrganizationKind.COMMITTEE},
    OrganizationKind.SUBORDINATE_BRANCH: {OrganizationKind.GRASSROOTS_COMMITTEE},
}


class RoleKey(models.TextChoices):
    SECRETARY = "secretary", _("branch secretary")
    DEPARTMENT = "department", _("organisation-department staff")
    ADMINISTRATOR = "administrator", _("administrator")


class Sex(models.TextChoices):
    MALE = "male", _("male")
    FEMALE = "female", _("female")


class Position(models.TextChoices):
    OWNER = "owner", _("owner")
    MANAGER = "manager", _("manager")
    TECHNICAL = "technical", _("technical staff")
    WORKER = "worker", _("worker")


class MemberStatus(models.TextChoices):
    ACTIVE = "active", _("active")
    TRANSFERRED_TO_RESIDENCE = "transferred_to_residence", _("transferred to place of residence")
    LEFT = "left", _("left the Party")
    IN_TRANSIT = "in_transit", _("transfer in transit")


class PeriodEndReason(models.TextChoices):
    TRANSFER = "transfer", _("transferred to another organisation")
    RESIDENCE = "residence", _("transferred to place of residence")
    DISSOLVED = "dissolved", _("branch dissolved")
    RESIGNED = "resigned", _("resigned")
    EXPELLED = "expelled", _("expelled")
    STRUCK_OFF = "struck_off", _("struck off")
    DIED = "died", _("died")
    MERGED = "merged", _("organisation merged")
    SPLIT = "split", _("organisation split")


class OrganizationChange(models.TextChoices):
    """What began (or ended) a dated state of an organisation."""

    ESTABLISHED = "established", _("established")
    RENAMED = "renamed", _("renamed")
    MOVED = "moved", _("moved")
    MERGED = "merged", _("merged")
    SPLIT = "split", _("split")
    DISSOLVED = "dissolved", _("dissolved")


class TransferKind(models.TextChoices):
    """An official transfer moves the record; a temporary one keeps it at home (Hướng dẫn 06-HD/TW)."""

    OFFICIAL = "official", _("official transfer")
    TEMPORARY_WORK = "temporary_work", _("temporary: working away")
    TEMPORARY_STUDY = "temporary_study", _("temporary: studying")


class TransferStatus(models.TextChoices):
    IN_TRANSIT = "in_transit", _("in transit")
    RECEIVED = "received", _("received")
    CANCELLED = "cancelled", _("cancelled")
    ENDED = "ended", _("ended")


TEMPORARY_TRANSFER_KINDS = (TransferKind.TEMPORARY_WORK, TransferKind.TEMPORARY_STUDY)


#: Reasons that end a membership altogether (record_leaving).
LEAVING_REASONS = (
    PeriodEndReason.RESIGNED,
    PeriodEndReason.EXPELLED,
    PeriodEndReason.STRUCK_OFF,
    PeriodEndReason.DIED,
)


class ProspectStage(models.TextChoices):
    IDENTIFIED = "identified", _("identified")
    COURSE_DONE = "course_done", _("awareness course done")
    DOSSIER_COMPLETE = "dossier_complete", _("dossier complete")
    ADMITTED = "admitted", _("admitted")
    WITHDRAWN = "withdrawn", _("withdrawn or left the enterprise")


#: Stages a prospect can still move between (the last two are final).
OPEN_PROSPECT_STAGES = (ProspectStage.IDENTIFIED, ProspectStage.COURSE_DONE, ProspectStage.DOSSIER_COMPLETE)


# The Party-member profile (form 2-HSĐV) -------------------------------------------------------
# An empty value means "not recorded yet": the fields are optional on existing records.

#: The 54 ethnic groups of Vietnam's official list (General Statistics Office, Decision
#: 121-TCTK/PPCĐ, codes 01–54), and foreign origin. The names are proper names, written as
#: the list writes them in both languages.
ETHNIC_GROUP_NAMES = (
    "Kinh", "Tày", "Thái", "Hoa", "Khơ-me", "Mường", "Nùng", "Hmông", "Dao", "Gia-rai",
    "Ngái", "Ê-đê", "Ba-na", "Xơ-đăng", "Sán Chay", "Cơ-ho", "Chăm", "Sán Dìu", "Hrê", "Mnông",
    "Ra-glai", "Xtiêng", "Bru-Vân Kiều", "Thổ", "Giáy", "Cơ-tu", "Gié-Triêng", "Mạ", "Khơ-mú", "Co",
    "Tà-ôi", "Chơ-ro", "Kháng", "Xinh-mun", "Hà Nhì", "Chu-ru", "Lào", "La Chí", "La Ha", "Phù Lá",
    "La Hủ", "Lự", "Lô Lô", "Chứt", "Mảng", "Pà Thẻn", "Cơ Lao", "Cống", "Bố Y", "Si La",
    "Pu Péo", "Brâu", "Ơ-đu", "Rơ-măm",
)  # fmt: skip

#: The majority group's code: every other group of the list is an ethnic minority.
ETHNICITY_KINH = "01"
ETHNICITY_FOREIGN = "foreign"

Ethnicity = models.TextChoices(
    "Ethnicity",
    [(f"E{number:02d}", (f"{number:02d}", name)) for number, name in enumerate(ETHNIC_GROUP_NAMES, start=1)]
    + [("FOREIGN", (ETHNICITY_FOREIGN, _("foreign origin")))],
)


class Religion(models.TextChoices):
    """The religions recognised in Vietnam (Government Committee for Religious Affairs), or none."""

    NONE = "none", _("no religion")
    BUDDHISM = "buddhism", _("Buddhism")
    CATHOLICISM = "catholicism", _("Catholicism")
    PROTESTANTISM = "protestantism", _("Protestantism")
    CAO_DAI = "cao_dai", _("Cao Đài")
    HOA_HAO = "hoa_hao", _("Hòa Hảo Buddhism")
    ISLAM = "islam", _("Islam")
    BAHAI = "bahai", _("Baháʼí Faith")
    PURE_LAND_LAY = "pure_land_lay", _("Pure Land Lay Buddhist Association")
    ADVENTIST = "adventist", _("Seventh-day Adventist Church")
    TU_AN_HIEU_NGHIA = "tu_an_hieu_nghia", _("Tứ Ân Hiếu Nghĩa Buddhism")
    MINH_SU = "minh_su", _("Minh Su Dao")
    MINH_LY = "minh_ly", _("Minh Ly Dao – Tam Tong Mieu")
    BRAHMANISM = "brahmanism", _("Brahmanism")
    LATTER_DAY_SAINTS = "latter_day_saints", _("Church of Jesus Christ of Latter-day Saints")
    HIEU_NGHIA_TA_LON = "hieu_nghia_ta_lon", _("Hiếu Nghĩa Tà Lơn Buddhism")
    BUU_SON_KY_HUONG = "buu_son_ky_huong", _("Bửu Sơn Kỳ Hương")


class ProfessionalQualification(models.TextChoices):
    NONE = "none", _("none")
    VOCATIONAL = "vocational", _("vocational")
    INTERMEDIATE = "intermediate", _("intermediate (trung cấp)")
    COLLEGE = "college", _("college")
    UNIVERSITY = "university", _("university")
    MASTER = "master", _("master")
    DOCTORATE = "doctorate", _("doctorate")


class PoliticalTheory(models.TextChoices):
    NONE = "none", _("none")
    ELEMENTARY = "elementary", _("elementary (sơ cấp)")
    INTERMEDIATE = "intermediate", _("intermediate (trung cấp)")
    ADVANCED = "advanced", _("advanced or bachelor (cao cấp, cử nhân)")


#: The profile fields (optional; empty: not recorded).
MEMBER_PROFILE_FIELDS = (
    "ethnicity",
    "religion",
    "general_education",
    "professional_qualification",
    "political_theory",
    "youth_union_member_at_admission",
    "hometown",
)


class ApprovalStatus(models.TextChoices):
    """A period's figures of one organisation (no record: open)."""

    OPEN = "open", _("open")
    SUBMITTED = "submitted", _("submitted")
    APPROVED = "approved", _("approved")
    RETURNED = "returned", _("returned")
