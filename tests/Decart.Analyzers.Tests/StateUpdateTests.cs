using Decart.Analyzers.CodeFixes;
using Decart.Analyzers.Rules;

namespace Decart.Analyzers.Tests;

public class StateUpdateTests
{
    private const string Prelude = """
        public class Styles
        {
            private readonly ImageInput image = ImageInput.FromBytes(new byte[] { 1 });

        """;

    [Fact]
    public Task Prompt_then_image_in_a_row_is_flagged_in_either_order() => Verify.AnalyzerAsync<StateUpdateAnalyzer>(Prelude + """
            public async Task PromptThenImage(RealtimeClient rt)
            {
                await rt.SetPromptAsync("neon city");
                {|DECART003:await rt.SetImageAsync(image);|}
            }

            public async Task ImageThenPrompt(RealtimeClient rt, CancellationToken ct)
            {
                await rt.SetImageAsync(image, null, ct);
                var unrelated = 42;
                {|DECART003:await rt.SetPromptAsync("neon city", cancellationToken: ct).ConfigureAwait(false);|}
            }
        }
        """);

    [Fact]
    public Task Updates_separated_by_other_work_on_the_client_or_on_two_clients_are_fine() => Verify.AnalyzerAsync<StateUpdateAnalyzer>(Prelude + """
            public async Task Separated(RealtimeClient rt)
            {
                await rt.SetPromptAsync("neon city");
                await Task.Delay(1000);
                Console.WriteLine(rt.State);
                await rt.SetImageAsync(image);
            }

            public async Task TwoClients(RealtimeClient a, RealtimeClient b)
            {
                await a.SetPromptAsync("neon city");
                await b.SetImageAsync(image);
            }

            public async Task Atomic(RealtimeClient rt) => await rt.SetAsync(new RealtimeState { Prompt = "neon city", Image = image });
        }
        """);

    [Fact]
    public Task The_fix_merges_into_one_SetAsync_keeping_enhance_and_the_token() => Verify.FixAsync<StateUpdateAnalyzer, MergeIntoSetFix>(
        Prelude + """
            public async Task A(RealtimeClient rt, CancellationToken ct)
            {
                await rt.SetPromptAsync("a neon city at night in the rain", false, ct);
                {|DECART003:await rt.SetImageAsync(image);|}
            }

            public async Task B(RealtimeClient rt)
            {
                await rt.SetImageAsync(image);
                {|DECART003:await rt.SetPromptAsync("watercolor");|}
            }
        }
        """,
        Prelude + """
            public async Task A(RealtimeClient rt, CancellationToken ct)
            {
                await rt.SetAsync(new RealtimeState { Prompt = "a neon city at night in the rain", Image = image, Enhance = false }, ct);
            }

            public async Task B(RealtimeClient rt)
            {
                await rt.SetAsync(new RealtimeState { Prompt = "watercolor", Image = image });
            }
        }
        """);

    [Fact]
    public Task SetAsync_without_an_image_after_an_image_was_set_is_flagged() => Verify.AnalyzerAsync<StateUpdateAnalyzer>(Prelude + """
            public async Task Clears(RealtimeClient rt)
            {
                await rt.SetImageAsync(image);
                await Task.Delay(10);
                await {|DECART007:rt.SetAsync(new RealtimeState { Prompt = "oil painting" })|};
            }

            public async Task Keeps(RealtimeClient rt)
            {
                await rt.SetAsync(new RealtimeState { Prompt = "oil painting", Image = image });
                await Task.Delay(10);
                await rt.SetAsync(new RealtimeState { Prompt = "watercolor", Image = image });
                await rt.SetImageAsync(null);
                await rt.SetAsync(new RealtimeState { Prompt = "no image wanted" });
            }
        }
        """);

    [Fact]
    public Task Enhancement_off_for_a_short_literal_prompt_is_an_info_with_a_fix() => Verify.FixAsync<StateUpdateAnalyzer, KeepEnhancementFix>(
        Prelude + """
            public async Task A(RealtimeClient rt)
            {
                await rt.SetPromptAsync("anime", {|DECART008:false|});
                await rt.SetPromptAsync("a very detailed long prompt with many words in it", false);
                await rt.SetAsync(new RealtimeState { Prompt = "oil", Image = image, {|DECART008:Enhance = false|} });
            }
        }
        """,
        Prelude + """
            public async Task A(RealtimeClient rt)
            {
                await rt.SetPromptAsync("anime");
                await rt.SetPromptAsync("a very detailed long prompt with many words in it", false);
                await rt.SetAsync(new RealtimeState { Prompt = "oil", Image = image });
            }
        }
        """);

    [Fact]
    public Task The_syntactic_gate_still_sees_a_target_typed_state_and_skips_names_in_comments_and_strings() => Verify.AnalyzerAsync<StateUpdateAnalyzer>(Prelude + """
            // The helper's body never spells RealtimeState: the target-typed new must still open the gate.
            public static RealtimeState Cartoon() => new() { Prompt = "cartoon", {|DECART008:Enhance = false|} };

            // "SetPromptAsync" only in a comment and a string: nothing of the SDK is called, nothing to report.
            public string Describe() => "call SetPromptAsync then SetImageAsync";
        }
        """);

    [Fact]
    public Task SetPromptAsync_in_a_loop_is_flagged_but_not_in_a_debounced_lambda() => Verify.AnalyzerAsync<StateUpdateAnalyzer>(Prelude + """
            public async Task Typing(RealtimeClient rt, string[] keystrokes)
            {
                foreach (var text in keystrokes)
                {
                    await {|DECART009:rt.SetPromptAsync(text)|};
                }
            }

            public void Debounced(RealtimeClient rt, Action<Func<string, Task>> debounce)
            {
                debounce(text => rt.SetPromptAsync(text));
            }
        }
        """);
}
