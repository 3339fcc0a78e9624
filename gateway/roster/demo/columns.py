"""The OneRoster 1.2 CSV binding's files and columns, in the spec's order, and our extensions.

The binding lets a file carry extension columns named ``metadata.*`` after the
standard ones; Budstikke's are under ``metadata.dk.*`` (the reader documents them):

- orgs.csv ``metadata.dk.kind``: ``school`` or ``daycare`` (OneRoster has only ``school``).
- users.csv ``metadata.dk.protected`` (``true``/``false``), ``metadata.dk.alias`` (the
  name shown instead of a protected person's), ``metadata.dk.custody`` on guardians
  (``true``, ``false`` or the comma-separated sourcedIds of the children they have
  custody of), ``metadata.dk.relation`` (``parent``, ``foster``, ``step``, ``relative``),
  ``metadata.dk.locale``, and ``metadata.dk.staffRole`` on staff (``teacher``,
  ``pedagogue``, ``leader``, ``admin``).
- classes.csv ``metadata.dk.kind``: ``class`` or ``room``.
"""

from __future__ import annotations

# fmt: off
MANIFEST = ("propertyName", "value")

ACADEMIC_SESSIONS = (
    "sourcedId", "status", "dateLastModified", "title", "type", "startDate", "endDate",
    "parentSourcedId", "schoolYear",
)

ORGS = (
    "sourcedId", "status", "dateLastModified", "name", "type", "identifier", "parentSourcedId",
    "metadata.dk.kind",
)

USERS = (
    "sourcedId", "status", "dateLastModified", "enabledUser", "username", "userIds",
    "givenName", "familyName", "middleName", "identifier", "email", "sms", "phone",
    "agentSourcedIds", "grades", "password", "userMasterIdentifier", "resourceSourcedIds",
    "preferredGivenName", "preferredMiddleName", "preferredFamilyName", "primaryOrgSourcedId",
    "pronouns",
    "metadata.dk.protected", "metadata.dk.alias", "metadata.dk.custody",
    "metadata.dk.relation", "metadata.dk.locale", "metadata.dk.staffRole",
)

ROLES = (
    "sourcedId", "status", "dateLastModified", "userSourcedId", "roleType", "role",
    "beginDate", "endDate", "orgSourcedId", "userProfileSourcedId",
)

COURSES = (
    "sourcedId", "status", "dateLastModified", "schoolYearSourcedId", "title", "courseCode",
    "grades", "orgSourcedId", "subjects", "subjectCodes",
)

CLASSES = (
    "sourcedId", "status", "dateLastModified", "title", "grades", "courseSourcedId",
    "classCode", "classType", "location", "schoolSourcedId", "termSourcedIds", "subjects",
    "subjectCodes", "periods",
    "metadata.dk.kind",
)

ENROLLMENTS = (
    "sourcedId", "status", "dateLastModified", "classSourcedId", "schoolSourcedId",
    "userSourcedId", "role", "primary", "beginDate", "endDate",
)

DEMOGRAPHICS = (
    "sourcedId", "status", "dateLastModified", "birthDate", "sex",
    "americanIndianOrAlaskaNative", "asian", "blackOrAfricanAmerican",
    "nativeHawaiianOrOtherPacificIslander", "white", "demographicRaceTwoOrMoreRaces",
    "hispanicOrLatinoEthnicity", "countryOfBirthCode", "stateOfBirthAbbreviation",
    "cityOfBirth", "publicSchoolResidenceStatus",
)

# The data files this generator writes, by the name the manifest gives them.
WRITTEN: dict[str, tuple[str, ...]] = {
    "academicSessions": ACADEMIC_SESSIONS,
    "orgs": ORGS,
    "users": USERS,
    "roles": ROLES,
    "courses": COURSES,
    "classes": CLASSES,
    "enrollments": ENROLLMENTS,
    "demographics": DEMOGRAPHICS,
}

# Every file the 1.2 manifest can name, in the spec's order; those not written are absent.
MANIFEST_FILES = (
    "academicSessions", "categories", "classes", "classResources", "courses",
    "courseResources", "demographics", "enrollments", "lineItemLearningObjectiveIds",
    "lineItems", "lineItemScoreScales", "orgs", "resources", "resultLearningObjectiveIds",
    "results", "resultScoreScales", "roles", "scoreScales", "userProfiles", "userResources",
    "users",
)
# fmt: on
