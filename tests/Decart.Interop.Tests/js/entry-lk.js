// The unmodified @decartai/sdk 0.1.20 (the LiveKit-era client), exposed to the test page as window.DecartSdk.
import { createDecartClient, models } from "@decartai/sdk-lk";

window.DecartSdk = { createDecartClient, models };
