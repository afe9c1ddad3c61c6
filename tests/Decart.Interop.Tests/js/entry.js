// The unmodified @decartai/sdk, exposed to the test page as window.DecartSdk.
import { createDecartClient, models } from "@decartai/sdk";

window.DecartSdk = { createDecartClient, models };
