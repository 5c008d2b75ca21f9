import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/** The project's copies of the shared data (provenance and licence in each folder's README). */
export const DATA_FILES = {
  carbonHalfHourly: join(here, 'carbon-intensity', 'gb_national_ci_forecast_actual_2023-01_to_2023-09.csv'),
  carbonHourly: join(here, 'carbon-intensity', 'gb_national_ci_hourly_actual_2020-01-08_to_2023-09-30.csv'),
  carbonRecentSample2026: join(here, 'carbon-intensity', 'gb_national_ci_forecast_actual_2026-05_recent_sample.csv'),
  prices: join(here, 'prices', 'elexon_system_prices_2023-01-01_to_2023-09-30.csv'),
  loraTrace: join(here, 'workloads', 'alibaba_genai_lora_2026', 'lora_request_trace.csv.gz'),
  openbPods: join(here, 'workloads', 'alibaba_gpu_openb_2023', 'openb_pod_list_default.csv.gz'),
  openbNodes: join(here, 'workloads', 'alibaba_gpu_openb_2023', 'openb_node_list_all_node.csv.gz'),
  phillyRuntimes: join(here, 'workloads', 'philly_runtime', 'philly_runtime.csv.gz'),
  azureLlmCode: join(here, 'workloads', 'azure_llm_inference_2023', 'AzureLLMInferenceTrace_code.csv.gz'),
  azureLlmConv: join(here, 'workloads', 'azure_llm_inference_2023', 'AzureLLMInferenceTrace_conv.csv.gz'),
} as const;
