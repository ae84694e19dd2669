import pytest

from purpose_lineage.core.taxonomy import default_taxonomy
from purpose_lineage.errors import TaxonomyError


def test_snapshot_equals_installed_fideslang():
    from fideslang.default_taxonomy import DEFAULT_TAXONOMY

    tax = default_taxonomy()
    for kind in ("data_category", "data_use"):
        expected = {item.fides_key: item.parent_key for item in getattr(DEFAULT_TAXONOMY, kind)}
        assert tax.parents[kind] == expected


def test_hierarchy_covers_descendants_only():
    tax = default_taxonomy()
    assert tax.covers("data_category", "user.contact", "user.contact.phone_number")
    assert tax.covers("data_use", "marketing.advertising", "marketing.advertising.third_party.targeted")
    assert not tax.covers("data_use", "marketing.advertising", "essential.service.security")
    assert not tax.covers("data_category", "user.contact.email", "user.contact")


def test_unknown_key_names_the_nearest():
    with pytest.raises(TaxonomyError, match="did you mean 'user.contact.phone_number'"):
        default_taxonomy().require("data_category", "user.contact.phone_numbr")


def test_custom_keys_need_an_existing_parent():
    custom = {"essential.service.security.two_factor": "essential.service.security"}
    tax = default_taxonomy().extended("data_use", custom)
    assert tax.covers("data_use", "essential.service", "essential.service.security.two_factor")
    with pytest.raises(TaxonomyError, match="unknown parent"):
        default_taxonomy().extended("data_use", {"x.y": "nope"})
