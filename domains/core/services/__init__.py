"""The core domain's business rules (private: other domains use ``domains.core.api``)."""
