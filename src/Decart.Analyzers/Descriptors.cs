using Microsoft.CodeAnalysis;

namespace Decart.Analyzers;

/// <summary>The rules. Ids are stable; each has a page under docs/analyzers.</summary>
internal static class Descriptors
{
    private const string HelpBase = "https://github.com/decart-dotnet/toolkit/blob/main/docs/analyzers/";

    public static readonly DiagnosticDescriptor UndisposedClient = Create(
        "DECART001",
        "Dispose the realtime client",
        "{0} from ConnectAsync is not disposed on every path: use 'await using', or dispose it in a finally block or in its owner's DisposeAsync",
        "Reliability",
        DiagnosticSeverity.Warning,
        "A realtime client holds a WebSocket, UDP sockets, a DTLS session and background tasks. Disconnect it on every path, or hand it on explicitly.");

    public static readonly DiagnosticDescriptor RawApiKey = Create(
        "DECART002",
        "Do not put API keys in source",
        "A literal API key reaches {0}: read it from configuration or the DECART_API_KEY environment variable{1}",
        "Security",
        DiagnosticSeverity.Warning,
        "Keys in source leak through repositories and binaries. On the user's device (Blazor WebAssembly, MAUI) a permanent key must never ship at all: mint a short-lived client token on your server.");

    public static readonly DiagnosticDescriptor SeparatePromptAndImage = Create(
        "DECART003",
        "Set prompt and image together",
        "SetPromptAsync and SetImageAsync on '{0}' in a row: use one atomic SetAsync(new RealtimeState {{ Prompt, Image }}) so no frame is generated with half the change",
        "Usage",
        DiagnosticSeverity.Warning,
        "Two messages apply one after the other; the frames between them use the new prompt with the old image (or the reverse). set_image with both is atomic.");

    public static readonly DiagnosticDescriptor ReconnectToChangePrompt = Create(
        "DECART004",
        "Change the prompt instead of reconnecting",
        "'{0}' is disconnected and a new session with the same model is connected in the same method: keep the session and call SetPromptAsync/SetAsync",
        "Performance",
        DiagnosticSeverity.Warning,
        "A reconnect costs a WebSocket, ICE, DTLS and a new generation start; a prompt change is one message.");

    public static readonly DiagnosticDescriptor FormatDiffersFromModel = Create(
        "DECART006",
        "Capture at the model's size and frame rate",
        "{0} {1} differs from {2}'s {3}: use {2}.{0}",
        "Usage",
        DiagnosticSeverity.Warning,
        "The model works at its own size and frame rate; other sizes are rescaled on the server and higher rates are dropped.");

    public static readonly DiagnosticDescriptor UnhandledErrors = Create(
        "DECART005",
        "Handle realtime errors",
        "The realtime client connected here has no error handler: set RealtimeConnectOptions.OnError or subscribe to its Error event",
        "Reliability",
        DiagnosticSeverity.Warning,
        "Server errors, failed reconnects and source failures arrive only through OnError/Error; without a handler they are lost.");

    public static readonly DiagnosticDescriptor SetClearsImage = Create(
        "DECART007",
        "SetAsync replaces the whole state",
        "SetAsync on '{0}' without an Image clears the image set earlier in this method: include the image, or call SetPromptAsync to change only the prompt",
        "Usage",
        DiagnosticSeverity.Warning,
        "SetAsync sends the whole state; fields left out are cleared.");

    public static readonly DiagnosticDescriptor EnhanceOffForShortPrompt = Create(
        "DECART008",
        "Keep prompt enhancement for short prompts",
        "Prompt enhancement is off for a {0}-word prompt: short prompts come out better enhanced; keep enhance on unless you need exact control",
        "Usage",
        DiagnosticSeverity.Warning,
        "Enhancement expands short prompts into the detailed descriptions the model was trained on.");

    public static readonly DiagnosticDescriptor UndebouncedPrompt = Create(
        "DECART009",
        "Debounce prompt updates",
        "SetPromptAsync {0} sends a message per change: debounce (~300 ms) and send the last value",
        "Performance",
        DiagnosticSeverity.Warning,
        "Each prompt is a message and an ack; typing floods the session and the server may refuse updates.");

    public static readonly DiagnosticDescriptor ReconnectToSwitchSource = Create(
        "DECART010",
        "Switch cameras without reconnecting",
        "'{0}' is disconnected and a new session with the same model is connected with another source: call ReplaceSourceAsync on the open session instead",
        "Performance",
        DiagnosticSeverity.Warning,
        "ReplaceSourceAsync swaps the camera of a running session (a new keyframe, mirror re-applied) without a new WebSocket, room, ICE and DTLS.");

    public static readonly DiagnosticDescriptor UnobservedConnectionState = Create(
        "DECART011",
        "Show connection changes",
        "The realtime client connected here has no connection-state handler: set RealtimeConnectOptions.OnConnectionChanged or subscribe to ConnectionChanged, and show Reconnecting to the user",
        "Reliability",
        DiagnosticSeverity.Warning,
        "The SDK reconnects by itself; without a handler the user sees a frozen picture instead of a reconnecting state.");

    public static readonly DiagnosticDescriptor MirrorBackCamera = Create(
        "DECART012",
        "Mirror only user-facing cameras",
        "Mirror = MirrorMode.On for '{0}', a camera facing away from the user: use MirrorMode.Auto, which mirrors only user-facing cameras",
        "Usage",
        DiagnosticSeverity.Warning,
        "A back camera shows the world as it is; mirroring it flips text and directions.");

    public static readonly DiagnosticDescriptor TokenMintedOnDevice = Create(
        "DECART013",
        "Mint client tokens on your server",
        "Tokens.CreateAsync in a project that runs on the user's device: minting a client token needs the permanent key, which must not ship; fetch the token from your server",
        "Security",
        DiagnosticSeverity.Error,
        "Client tokens exist so that devices never hold the permanent key. A device that creates its own tokens holds it.");

    public static readonly DiagnosticDescriptor UndisposedSource = Create(
        "DECART014",
        "Stop the camera when the session ends",
        "Video source '{0}' is not disposed on every path: use 'await using', or set OwnsSource = true on the session it feeds",
        "Reliability",
        DiagnosticSeverity.Warning,
        "A source holds the camera (an ffmpeg process, an encoder, a capture device); a session ending does not stop it unless it owns it.");

    private static DiagnosticDescriptor Create(string id, string title, string message, string category, DiagnosticSeverity severity, string description) =>
        new(id, title, message, category, severity, isEnabledByDefault: true, description: description, helpLinkUri: HelpBase + id + ".md");
}
