"""Composition root of districts: reads the policy (designation rules as data), builds the
Seoul clock and wires them into the consumers and the routes."""

from sangsaeng_common.clock import SeoulClock
from sangsaeng_common.contracts.districts import (
    ContestEntered, ContestResultAnnounced, DistrictDesignated, DistrictProposed, DistrictReviewOpened, DistrictRevoked,
    StoreJoinedDistrict, StoreLeftDistrict,
)
from sangsaeng_common.runtime import ServiceDefinition
from districts.config import DistrictsPolicy
from districts.entrypoints import consumers, http
from districts.service_layer.handlers import Deps


def build() -> ServiceDefinition:
    deps = Deps(policy=DistrictsPolicy(), clock=SeoulClock())
    return ServiceDefinition(
        name="districts",
        title="Sangsaeng districts",
        description="Alley-type shopping districts (골목형상점가): boundaries and counted areas, member stores, designation "
        "under dated rules (Dongdaemun's ordinance: 15 stores per 2,000 m²), revocation, and the public contests (공모사업) "
        "the center helps them enter.",
        routes=http.routes(deps),
        consumers=[consumers.handlers(deps)],
        produces=[DistrictProposed, DistrictReviewOpened, DistrictDesignated, DistrictRevoked, StoreJoinedDistrict,
                  StoreLeftDistrict, ContestEntered, ContestResultAnnounced],
        # The directory, rebuilt exactly from intake's events by a replay. (A below-rule review
        # is an effect on districts' own tables with its own event, not a read model.)
        read_models=consumers.directory(deps).read_models(),
    )
