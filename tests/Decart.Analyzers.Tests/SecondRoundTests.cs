using Decart.Analyzers.CodeFixes;
using Decart.Analyzers.Rules;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Testing;

namespace Decart.Analyzers.Tests;

/// <summary>
/// The second round: every closing form DECART001 accepts also counts for DECART004, and each edge case decided on the
/// rules' pages has a test here (both ways where there are two), each run alone and through the shipped DecartRules.
/// </summary>
public class SecondRoundTests
{
    // ---- DECART004 / DECART010: every form DECART001 accepts counts as "the first session was closed" ----

    [Fact]
    public Task DECART004_sees_the_closing_forms_DECART001_recommends() => Verify.AnalyzerAsync<SessionShapeAnalyzer>("""
        public class Restarts
        {
            private RealtimeClient? _rt;

            public async Task ConditionalDisposeInFinally(DecartClient api, IVideoSource camera, RealtimeConnectOptions options)
            {
                RealtimeClient? first = null;
                try
                {
                    first = await api.Realtime.ConnectAsync(camera, options);
                    await first.SetPromptAsync("anime");
                }
                finally
                {
                    await (first?.DisconnectAsync() ?? Task.CompletedTask);
                }

                await using var second = await {|DECART004:api.Realtime.ConnectAsync(camera, options)|};
            }

            public async Task AwaitUsingConfigureAwait(DecartClient api, IVideoSource camera, RealtimeConnectOptions options)
            {
                var first = await api.Realtime.ConnectAsync(camera, options).ConfigureAwait(false);
                {
                    await using var guard = first.ConfigureAwait(false);
                    await first.SetPromptAsync("anime").ConfigureAwait(false);
                }

                await using var second = await {|DECART004:api.Realtime.ConnectAsync(camera, options)|}.ConfigureAwait(false);
            }

            public async Task ThroughACopy(DecartClient api, IVideoSource camera, RealtimeConnectOptions options)
            {
                var first = await api.Realtime.ConnectAsync(camera, options);
                var same = first;
                await same.DisposeAsync();
                await using var second = await {|DECART004:api.Realtime.ConnectAsync(camera, options)|};
            }

            public async Task ThroughAHelper(DecartClient api, IVideoSource camera, RealtimeConnectOptions options)
            {
                var first = await api.Realtime.ConnectAsync(camera, options);
                await CloseAsync(first);
                await using var second = await {|DECART004:api.Realtime.ConnectAsync(camera, options)|};
            }

            public async Task InAField(DecartClient api, IVideoSource camera, RealtimeConnectOptions options)
            {
                _rt = await api.Realtime.ConnectAsync(camera, options);
                await _rt.DisposeAsync();
                _rt = await {|DECART004:api.Realtime.ConnectAsync(camera, options)|};
            }

            private static Task CloseAsync(RealtimeClient client) => client.DisconnectAsync();
        }
        """);

    [Fact]
    public Task DECART004_flags_a_reconnect_per_style_in_a_loop_but_not_a_model_switch_or_another_model() => Verify.AnalyzerAsync<SessionShapeAnalyzer>("""
        public class Loops
        {
            public async Task PerStyle(DecartClient api, IVideoSource camera, string[] styles)
            {
                foreach (var style in styles)
                {
                    await using var rt = await {|DECART004:api.Realtime.ConnectAsync(camera, new RealtimeConnectOptions { Model = RealtimeModels.Lucy21, InitialState = new RealtimeState { Prompt = style } })|};
                    await Task.Delay(1000);
                }
            }

            public async Task PerModel(DecartClient api, IVideoSource camera, RealtimeModel[] models)
            {
                foreach (var model in models)
                {
                    await using var rt = await api.Realtime.ConnectAsync(camera, new RealtimeConnectOptions { Model = model });
                    await Task.Delay(1000);
                }
            }

            public async Task AnotherModel(DecartClient api, IVideoSource camera)
            {
                var first = await api.Realtime.ConnectAsync(camera, new RealtimeConnectOptions { Model = RealtimeModels.Lucy21 });
                await first.DisposeAsync();
                await using var second = await api.Realtime.ConnectAsync(camera, new RealtimeConnectOptions { Model = RealtimeModels.Lucy25 });
            }
        }
        """);

    [Fact]
    public Task DECART010_flags_a_reconnect_that_only_switches_the_camera() => Verify.AnalyzerAsync<SessionShapeAnalyzer>("""
        public class Cameras
        {
            public async Task Switch(DecartClient api, IVideoSource front, IVideoSource back, RealtimeConnectOptions options)
            {
                var rt = await api.Realtime.ConnectAsync(front, options);
                await rt.DisposeAsync();
                await using var again = await {|DECART010:api.Realtime.ConnectAsync(back, options)|};
            }

            public async Task Replace(DecartClient api, IVideoSource front, IVideoSource back, RealtimeConnectOptions options)
            {
                await using var rt = await api.Realtime.ConnectAsync(front, options);
                await rt.ReplaceSourceAsync(back);
            }
        }
        """);

    [Fact]
    public Task DECART004_fix_sets_the_new_state_on_the_open_session_and_fixes_all() => Verify.FixAllAsync<SessionShapeAnalyzer, SetInsteadOfReconnectFix>(
        """
        public class Restarts
        {
            public async Task A(DecartClient api, IVideoSource camera)
            {
                var first = await api.Realtime.ConnectAsync(camera, new RealtimeConnectOptions { Model = RealtimeModels.Lucy21, InitialState = new RealtimeState { Prompt = "anime" } });
                await first.DisposeAsync();
                await using var second = await {|DECART004:api.Realtime.ConnectAsync(camera, new RealtimeConnectOptions { Model = RealtimeModels.Lucy21, InitialState = new RealtimeState { Prompt = "watercolor" } })|};
                await second.SetPromptAsync("ink");
            }

            public async Task B(DecartClient api, IVideoSource camera)
            {
                var one = await api.Realtime.ConnectAsync(camera, new RealtimeConnectOptions { Model = RealtimeModels.Lucy25 });
                await one.DisconnectAsync();
                var two = await {|DECART004:api.Realtime.ConnectAsync(camera, new RealtimeConnectOptions { Model = RealtimeModels.Lucy25, InitialState = new RealtimeState { Prompt = "oil" } })|};
                await two.DisposeAsync();
            }
        }
        """,
        """
        public class Restarts
        {
            public async Task A(DecartClient api, IVideoSource camera)
            {
                var first = await api.Realtime.ConnectAsync(camera, new RealtimeConnectOptions { Model = RealtimeModels.Lucy21, InitialState = new RealtimeState { Prompt = "anime" } });
                await first.SetAsync(new RealtimeState { Prompt = "watercolor" });
                await using var second = first;
                await second.SetPromptAsync("ink");
            }

            public async Task B(DecartClient api, IVideoSource camera)
            {
                var one = await api.Realtime.ConnectAsync(camera, new RealtimeConnectOptions { Model = RealtimeModels.Lucy25 });
                await one.SetAsync(new RealtimeState { Prompt = "oil" });
                var two = one;
                await two.DisposeAsync();
            }
        }
        """);

    // ---- DECART001 ----

    [Fact]
    public Task DECART001_checks_fields_the_type_fills_from_ConnectAsync_not_injected_ones_and_names_a_discarded_client_plainly() => Verify.AnalyzerAsync<UndisposedClientAnalyzer>("""
        public class Injected
        {
            private readonly RealtimeClient _rt;

            public Injected(RealtimeClient rt) => _rt = rt;

            public Task Style(string prompt) => _rt.SetPromptAsync(prompt);
        }

        public class Owner
        {
            private RealtimeClient? {|#0:_rt|};

            public async Task StartAsync(DecartClient api, IVideoSource camera, RealtimeConnectOptions options) => _rt = await api.Realtime.ConnectAsync(camera, options);
        }

        public class Discards
        {
            public async Task A(DecartClient api, IVideoSource camera, RealtimeConnectOptions options)
            {
                {|#1:await api.Realtime.ConnectAsync(camera, options);|}
                {|#2:_ = await api.Realtime.ConnectAsync(camera, options)|};
            }
        }
        """,
        Verify.Diagnostic("DECART001").WithLocation(0).WithArguments("'_rt'"),
        Verify.Diagnostic("DECART001").WithLocation(1).WithArguments("The client"),
        Verify.Diagnostic("DECART001").WithLocation(2).WithArguments("The client"));

    // ---- DECART002 / DECART013 ----

    [Fact]
    public Task DECART002_flags_a_key_in_a_readonly_field_and_an_environment_fallback_but_not_a_placeholder_for_a_local_fake() => Verify.AnalyzerAsync<RawApiKeyAnalyzer>("""
        public class Keys
        {
            private static readonly string Key = "sk_live_field";
            private readonly string _instanceKey = "sk_live_instance";

            public DecartClientOptions StaticField() => new() { ApiKey = {|DECART002:Key|} };

            public DecartClientOptions InstanceField() => new() { ApiKey = {|DECART002:_instanceKey|} };

            public DecartClientOptions Fallback() => new() { ApiKey = Environment.GetEnvironmentVariable("DECART_API_KEY") ?? {|DECART002:"sk_live_fallback"|} };

            public DecartClientOptions Simulator(Uri simBaseUrl, Uri simRealtime) => new() { ApiKey = "sk_test", BaseUrl = simBaseUrl, RealtimeBaseUrl = simRealtime };

            public DecartClientOptions ExplicitlyDecart() => new() { ApiKey = {|DECART002:"sk_live_x"|}, BaseUrl = new Uri("https://api.decart.ai") };

            public DecartClientOptions DefaultUrl() => new() { ApiKey = {|DECART002:"sk_live_y"|}, BaseUrl = DecartClientOptions.DefaultBaseUrl };
        }
        """);

    [Fact]
    public Task DECART013_flags_minting_a_token_on_the_users_device() => Verify.AnalyzerWithConfigAsync<RawApiKeyAnalyzer>(
        """
        public class Device
        {
            public async Task<string> TokenAsync(DecartClient client) => (await {|#0:client.Tokens.CreateAsync()|}).ApiKey;
        }
        """,
        "is_global = true\nbuild_property.DecartClientSide = true\n",
        new DiagnosticResult("DECART013", DiagnosticSeverity.Error).WithLocation(0));

    [Fact]
    public Task DECART013_is_silent_on_a_server() => Verify.AnalyzerAsync<RawApiKeyAnalyzer>("""
        public class Server
        {
            public async Task<string> TokenAsync(DecartClient client) => (await client.Tokens.CreateAsync()).ApiKey;
        }
        """);

    // ---- DECART005 / DECART011 ----

    [Fact]
    public Task DECART005_and_DECART011_follow_options_built_in_a_local_but_not_from_a_helper_or_a_reassigned_local() => Verify.AnalyzerAsync<UnhandledErrorsAnalyzer>("""
        public class Options
        {
            public async Task Local(DecartClient api, IVideoSource camera)
            {
                var options = new RealtimeConnectOptions { Model = RealtimeModels.Lucy21, OnConnectionChanged = s => Console.WriteLine(s) };
                await using var rt = await api.Realtime.ConnectAsync(camera, {|DECART005:options|});
            }

            public async Task LocalWithHandlers(DecartClient api, IVideoSource camera)
            {
                var options = new RealtimeConnectOptions { Model = RealtimeModels.Lucy21, OnError = e => Console.WriteLine(e.Code), OnConnectionChanged = s => Console.WriteLine(s) };
                await using var rt = await api.Realtime.ConnectAsync(camera, options);
            }

            public async Task LocalWithoutStateHandler(DecartClient api, IVideoSource camera)
            {
                var options = new RealtimeConnectOptions { Model = RealtimeModels.Lucy21, OnError = e => Console.WriteLine(e.Code) };
                await using var rt = await api.Realtime.ConnectAsync(camera, {|DECART011:options|});
            }

            public async Task LocalAssignedAgain(DecartClient api, IVideoSource camera, RealtimeConnectOptions other)
            {
                var options = new RealtimeConnectOptions { Model = RealtimeModels.Lucy21 };
                options = other;
                await using var rt = await api.Realtime.ConnectAsync(camera, options);
            }

            public async Task Helper(DecartClient api, IVideoSource camera)
            {
                await using var rt = await api.Realtime.ConnectAsync(camera, Build());
            }

            private static RealtimeConnectOptions Build() => new() { Model = RealtimeModels.Lucy21 };
        }

        public class Subscribed
        {
            public async Task RunAsync(DecartClient api, IVideoSource camera)
            {
                await using var rt = await api.Realtime.ConnectAsync(camera, new RealtimeConnectOptions { Model = RealtimeModels.Lucy21, OnError = e => Console.WriteLine(e.Code) });
                rt.ConnectionChanged += (_, state) => Console.WriteLine(state);
            }
        }
        """);

    [Fact]
    public Task The_handler_fixes_add_OnError_and_OnConnectionChanged_and_fix_all() => Verify.FixAllAsync<UnhandledErrorsAnalyzer, AddHandlerFix>(
        """
        public class Handlers
        {
            public async Task A(DecartClient api, IVideoSource camera)
            {
                await using var rt = await api.Realtime.ConnectAsync(camera, {|DECART005:new RealtimeConnectOptions { Model = RealtimeModels.Lucy21, OnConnectionChanged = s => Console.WriteLine(s) }|});
            }

            public async Task B(DecartClient api, IVideoSource camera)
            {
                await using var rt = await api.Realtime.ConnectAsync(camera, {|DECART011:new RealtimeConnectOptions { Model = RealtimeModels.Lucy21, OnError = e => Console.WriteLine(e.Code) }|});
            }
        }
        """,
        """
        public class Handlers
        {
            public async Task A(DecartClient api, IVideoSource camera)
            {
                await using var rt = await api.Realtime.ConnectAsync(camera, new RealtimeConnectOptions { Model = RealtimeModels.Lucy21, OnConnectionChanged = s => Console.WriteLine(s), OnError = error => Console.Error.WriteLine($"Decart error {error.CodeString}: {error.Message}") });
            }

            public async Task B(DecartClient api, IVideoSource camera)
            {
                await using var rt = await api.Realtime.ConnectAsync(camera, new RealtimeConnectOptions { Model = RealtimeModels.Lucy21, OnError = e => Console.WriteLine(e.Code), OnConnectionChanged = state => Console.WriteLine($"Decart connection: {state}") });
            }
        }
        """,
        2);

    [Fact]
    public Task DECART003_fix_keeps_ConfigureAwait() => Verify.FixAsync<StateUpdateAnalyzer, MergeIntoSetFix>(
        """
        public class Library
        {
            public async Task A(RealtimeClient rt, ImageInput image, CancellationToken ct)
            {
                await rt.SetPromptAsync("neon city at night", cancellationToken: ct).ConfigureAwait(false);
                {|DECART003:await rt.SetImageAsync(image).ConfigureAwait(false);|}
            }
        }
        """,
        """
        public class Library
        {
            public async Task A(RealtimeClient rt, ImageInput image, CancellationToken ct)
            {
                await rt.SetAsync(new RealtimeState { Prompt = "neon city at night", Image = image }, ct).ConfigureAwait(false);
            }
        }
        """);

    // ---- DECART007 / DECART008 ----

    [Fact]
    public Task DECART007_counts_an_image_from_InitialState_and_leaves_an_explicit_null_alone() => Verify.AnalyzerAsync<StateUpdateAnalyzer>("""
        public class Images
        {
            public async Task FromInitialState(DecartClient api, IVideoSource camera, ImageInput reference)
            {
                await using var rt = await api.Realtime.ConnectAsync(camera, new RealtimeConnectOptions { Model = RealtimeModels.Lucy21, InitialState = new RealtimeState { Prompt = "a", Image = reference } });
                await {|DECART007:rt.SetAsync(new RealtimeState { Prompt = "oil painting" })|};
            }

            public async Task ExplicitClear(RealtimeClient rt, ImageInput reference)
            {
                await rt.SetImageAsync(reference);
                await rt.SetAsync(new RealtimeState { Prompt = "oil painting", Image = null });
            }
        }
        """);

    [Fact]
    public Task DECART008_covers_SetImageOptions_and_is_a_warning() => Verify.AnalyzerAsync<StateUpdateAnalyzer>("""
        public class Enhance
        {
            public Task A(RealtimeClient rt, ImageInput image) => rt.SetImageAsync(image, new SetImageOptions { Prompt = "anime", {|#0:Enhance = false|} });

            public Task B(RealtimeClient rt, ImageInput image) => rt.SetImageAsync(image, new SetImageOptions { Prompt = "a long and detailed description of a city at night", Enhance = false });
        }
        """,
        new DiagnosticResult("DECART008", DiagnosticSeverity.Warning).WithLocation(0).WithArguments(1));

    [Fact]
    public Task DECART008_fix_turns_a_positional_false_with_arguments_after_it_into_true() => Verify.FixAsync<StateUpdateAnalyzer, KeepEnhancementFix>(
        """
        public class Enhance
        {
            public Task A(RealtimeClient rt, CancellationToken ct) => rt.SetPromptAsync("anime", {|DECART008:false|}, ct);
        }
        """,
        """
        public class Enhance
        {
            public Task A(RealtimeClient rt, CancellationToken ct) => rt.SetPromptAsync("anime", true, ct);
        }
        """);

    // ---- DECART009 ----

    [Fact]
    public Task DECART009_flags_text_changed_handlers_and_typing_loops_but_not_broadcasts_retries_or_paced_loops() => Verify.AnalyzerAsync<StateUpdateAnalyzer>("""
        public class PromptBox
        {
            public event EventHandler<string>? TextChanged;
        }

        public class Typing
        {
            public void Wire(PromptBox box, RealtimeClient rt)
            {
                box.TextChanged += async (_, text) => await {|DECART009:rt.SetPromptAsync(text)|};
            }

            public void WireDebounced(PromptBox box, RealtimeClient rt)
            {
                box.TextChanged += async (_, text) =>
                {
                    await Task.Delay(300);
                    await rt.SetPromptAsync(text);
                };
            }

            public async void promptBox_TextChanged(RealtimeClient rt, string text) => await {|DECART009:rt.SetPromptAsync(text)|};

            public async Task Broadcast(RealtimeClient[] sessions, string prompt)
            {
                foreach (var session in sessions)
                {
                    await session.SetPromptAsync(prompt);
                }
            }

            public async Task Retry(RealtimeClient rt, string prompt)
            {
                for (int attempt = 0; attempt < 3; attempt++)
                {
                    try
                    {
                        await rt.SetPromptAsync(prompt);
                        break;
                    }
                    catch (DecartException)
                    {
                    }
                }
            }

            public async Task Paced(RealtimeClient rt, string[] styles)
            {
                foreach (var style in styles)
                {
                    await rt.SetPromptAsync(style);
                    await Task.Delay(TimeSpan.FromSeconds(5));
                }
            }
        }
        """);

    // ---- DECART012 / DECART014 ----

    [Fact]
    public Task DECART012_flags_mirroring_a_back_camera_and_its_fix_uses_Auto() => Verify.FixAsync<VideoSourceAnalyzer, MirrorAutoFix>(
        """
        public class Mirrors
        {
            public async Task Back(DecartClient api)
            {
                await using var back = new RawVideoSource(new VideoFormat(1088, 624, 30), FacingMode.Environment);
                await using var rt = await api.Realtime.ConnectAsync(back, new RealtimeConnectOptions { Model = RealtimeModels.Lucy21, Mirror = {|DECART012:MirrorMode.On|} });
            }

            public async Task Front(DecartClient api)
            {
                await using var front = new RawVideoSource(new VideoFormat(1088, 624, 30), FacingMode.User);
                await using var rt = await api.Realtime.ConnectAsync(front, new RealtimeConnectOptions { Model = RealtimeModels.Lucy21, Mirror = MirrorMode.On });
            }
        }
        """,
        """
        public class Mirrors
        {
            public async Task Back(DecartClient api)
            {
                await using var back = new RawVideoSource(new VideoFormat(1088, 624, 30), FacingMode.Environment);
                await using var rt = await api.Realtime.ConnectAsync(back, new RealtimeConnectOptions { Model = RealtimeModels.Lucy21, Mirror = MirrorMode.Auto });
            }

            public async Task Front(DecartClient api)
            {
                await using var front = new RawVideoSource(new VideoFormat(1088, 624, 30), FacingMode.User);
                await using var rt = await api.Realtime.ConnectAsync(front, new RealtimeConnectOptions { Model = RealtimeModels.Lucy21, Mirror = MirrorMode.On });
            }
        }
        """);

    [Fact]
    public Task DECART014_flags_a_source_nobody_stops_and_its_fix_adds_await_using_to_all() => Verify.FixAllAsync<VideoSourceAnalyzer, AwaitUsingFix>(
        """
        public class Cameras
        {
            public async Task Leaks(DecartClient api, RealtimeConnectOptions options)
            {
                var {|DECART014:camera = new SyntheticVideoSource(new VideoFormat(1088, 624, 30))|};
                await using var rt = await api.Realtime.ConnectAsync(camera, options);
            }

            public async Task LeaksToo(DecartClient api, RealtimeConnectOptions options)
            {
                var {|DECART014:clip = await IvfFileSource.OpenAsync("clip.ivf", fps: 30)|};
                await using var rt = await api.Realtime.ConnectAsync(clip, options);
            }

            public async Task OwnedBySession(DecartClient api)
            {
                var camera = new SyntheticVideoSource(new VideoFormat(1088, 624, 30));
                await using var rt = await api.Realtime.ConnectAsync(camera, new RealtimeConnectOptions { Model = RealtimeModels.Lucy21, OwnsSource = true });
            }

            public SyntheticVideoSource Returned() => new(new VideoFormat(1088, 624, 30));
        }
        """,
        """
        public class Cameras
        {
            public async Task Leaks(DecartClient api, RealtimeConnectOptions options)
            {
                await using var camera = new SyntheticVideoSource(new VideoFormat(1088, 624, 30));
                await using var rt = await api.Realtime.ConnectAsync(camera, options);
            }

            public async Task LeaksToo(DecartClient api, RealtimeConnectOptions options)
            {
                await using var clip = await IvfFileSource.OpenAsync("clip.ivf", fps: 30);
                await using var rt = await api.Realtime.ConnectAsync(clip, options);
            }

            public async Task OwnedBySession(DecartClient api)
            {
                var camera = new SyntheticVideoSource(new VideoFormat(1088, 624, 30));
                await using var rt = await api.Realtime.ConnectAsync(camera, new RealtimeConnectOptions { Model = RealtimeModels.Lucy21, OwnsSource = true });
            }

            public SyntheticVideoSource Returned() => new(new VideoFormat(1088, 624, 30));
        }
        """);
}
