"""`configs/data_config.json`: the datasets of each environment and what they are for."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from llmops.config.base import ConfigFile, ConfigModel

# pr_data / training_data feed experiments, test_data feeds evaluation (the original template's
# three purposes); production_log feeds post-production evaluation, and so does post_production_eval_data,
# the original's name for it (its postprodeval env runs a judging standard flow over that data).
DataPurpose = Literal["pr_data", "training_data", "test_data", "production_log", "post_production_eval_data"]
EXPERIMENT_PURPOSES = ("pr_data", "training_data")
PRODUCTION_LOG_PURPOSES = ("production_log", "post_production_eval_data")


class Dataset(ConfigModel):
    ENV_NAME: str = Field(min_length=1)
    DATA_PURPOSE: DataPurpose
    DATA_PATH: str = Field(min_length=1)
    DATASET_NAME: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_\-]+$")
    RELATED_EXP_DATASET: str = ""
    DATASET_DESC: str = ""
    PROMPT_FLOW_CONFIG_NAME: str = ""


class DataConfig(ConfigFile):
    datasets: list[Dataset] = Field(min_length=1)

    @field_validator("datasets")
    @classmethod
    def _unique_names(cls, datasets: list[Dataset]) -> list[Dataset]:
        seen: set[str] = set()
        for ds in datasets:
            if ds.DATASET_NAME in seen:
                raise ValueError(f"duplicate DATASET_NAME '{ds.DATASET_NAME}'; dataset names are unique")
            seen.add(ds.DATASET_NAME)
        return datasets

    def for_env(self, env: str, *purposes: str) -> list[Dataset]:
        return [d for d in self.datasets if d.ENV_NAME == env and (not purposes or d.DATA_PURPOSE in purposes)]

    def named(self, name: str) -> Dataset | None:
        return next((d for d in self.datasets if d.DATASET_NAME == name), None)

    def evaluation_dataset_for(self, experiment_dataset: Dataset) -> Dataset:
        """The test_data dataset linked to an experiment dataset by RELATED_EXP_DATASET, else itself."""
        for d in self.datasets:
            if d.DATA_PURPOSE == "test_data" and d.RELATED_EXP_DATASET == experiment_dataset.DATASET_NAME:
                return d
        return experiment_dataset
