"""The trading domain's business rules (private: other domains use ``domains.trading.api``)."""
