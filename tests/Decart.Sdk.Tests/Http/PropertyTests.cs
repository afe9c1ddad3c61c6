using System.Text.Json;
using Decart.Sdk.Http;
using Decart.Sdk.Models;
using FsCheck;
using FsCheck.Fluent;

#pragma warning disable CS0618 // retired and deprecated model names on purpose: the simulator still serves them

namespace Decart.Sdk.Tests.Http;

public class PropertyTests
{
    private static readonly Config Cases = Config.QuickThrowOnFailure.WithMaxTest(500);
    private static readonly FileInput Data = FileInput.FromBytes(new byte[] { 1 }, "a.mp4");

    private static Gen<string> PromptOfLength(int min, int max) =>
        from n in Gen.Choose(min, max)
        from c in Gen.Elements('a', 'b', ' ', 'é', '日', '-')
        select new string(c, n) + "x";

    [Fact]
    public void Prompts_of_1_to_1000_characters_are_accepted() =>
        Prop.ForAll(PromptOfLength(0, 999).ToArbitrary(), prompt =>
        {
            InputValidator.Validate(VideoModels.LucyProV2V, new GenerationInput { Prompt = prompt, Data = Data });
            return true;
        }).Check(Cases);

    [Fact]
    public void Prompts_over_1000_characters_are_rejected_naming_prompt() =>
        Prop.ForAll(PromptOfLength(1000, 5000).ToArbitrary(), prompt =>
        {
            var ex = Assert.Throws<DecartException>(() => InputValidator.Validate(VideoModels.LucyProV2V, new GenerationInput { Prompt = prompt, Data = Data }));
            return ex.Code == DecartErrorCode.InvalidInput && ex.Message.StartsWith("prompt:", StringComparison.Ordinal);
        }).Check(Cases);

    [Fact]
    public void Restyle_accepts_exactly_one_of_prompt_and_reference_image() =>
        Prop.ForAll(ArbMap.Default.ArbFor<bool>(), ArbMap.Default.ArbFor<bool>(), ArbMap.Default.ArbFor<bool>(), (prompt, reference, enhance) =>
        {
            var input = new GenerationInput
            {
                Data = Data,
                Prompt = prompt ? "Anime" : null,
                ReferenceImage = reference ? FileInput.FromBytes(new byte[] { 2 }, "r.png") : null,
                EnhancePrompt = enhance ? true : null,
            };
            bool valid = prompt != reference && !(reference && enhance);
            try
            {
                InputValidator.Validate(VideoModels.LucyRestyleV2V, input);
                return valid;
            }
            catch (DecartException ex)
            {
                return !valid && ex.Code == DecartErrorCode.InvalidInput;
            }
        }).Check(Cases);

    [Fact]
    public void Resolution_is_720p_or_480p_for_images_and_720p_for_videos() =>
        Prop.ForAll(Gen.Elements("720p", "480p", "1080p", "", "720P", "4k").ToArbitrary(), resolution =>
        {
            bool imageOk = resolution is "720p" or "480p";
            bool videoOk = resolution is "720p";
            return Accepts(ImageModels.LucyProI2I, new GenerationInput { Prompt = "x", Data = Data, Resolution = resolution }) == imageOk
                && Accepts(VideoModels.LucyProV2V, new GenerationInput { Prompt = "x", Data = Data, Resolution = resolution }) == videoOk;
        }).Check(Cases);

    private static bool Accepts(ModelDefinition model, GenerationInput input)
    {
        try
        {
            InputValidator.Validate(model, input);
            return true;
        }
        catch (DecartException ex) when (ex.Code == DecartErrorCode.InvalidInput && ex.Message.StartsWith("resolution:", StringComparison.Ordinal))
        {
            return false;
        }
    }

    [Fact]
    public void Token_options_round_trip_through_the_source_generated_json() =>
        Prop.ForAll(
            Gen.Choose(1, 3600).ToArbitrary(),
            Gen.ListOf(Gen.Elements("lucy-2.1", "lucy-latest", "mirage")).ToArbitrary(),
            Gen.Choose(1, 86400).ToArbitrary(),
            (expires, models, max) =>
            {
                var options = new CreateTokenOptions
                {
                    ExpiresIn = expires,
                    AllowedModels = models.ToList(),
                    AllowedOrigins = ["https://example.com"],
                    Constraints = new TokenConstraints { Realtime = new RealtimeTokenConstraints { MaxSessionDuration = max } },
                };
                var json = JsonSerializer.Serialize(options, DecartJsonContext.Default.CreateTokenOptions);
                var back = JsonSerializer.Deserialize(json, DecartJsonContext.Default.CreateTokenOptions)!;
                return back.ExpiresIn == expires && back.AllowedModels!.SequenceEqual(models) && back.Constraints!.Realtime!.MaxSessionDuration == max
                    && json.Contains("\"expiresIn\"", StringComparison.Ordinal) && json.Contains("\"maxSessionDuration\"", StringComparison.Ordinal);
            }).Check(Cases);

    [Fact]
    public void Job_info_and_client_tokens_round_trip_with_wire_names() =>
        Prop.ForAll(
            ArbMap.Default.ArbFor<NonEmptyString>(),
            Gen.Elements(JobStatus.Pending, JobStatus.Processing, JobStatus.Completed, JobStatus.Failed).ToArbitrary(),
            ArbMap.Default.ArbFor<DateTimeOffset>(),
            (id, status, expires) =>
            {
                var job = new JobInfo(id.Get, status);
                var jobJson = JsonSerializer.Serialize(job, DecartJsonContext.Default.JobInfo);
                var token = new ClientToken { ApiKey = "ek_" + id.Get, ExpiresAt = expires, Permissions = new TokenPermissions { Models = ["lucy-2.1"] } };
                var tokenJson = JsonSerializer.Serialize(token, DecartJsonContext.Default.ClientToken);
                var tokenBack = JsonSerializer.Deserialize(tokenJson, DecartJsonContext.Default.ClientToken)!;
                return JsonSerializer.Deserialize(jobJson, DecartJsonContext.Default.JobInfo) == job
                    && jobJson.Contains("\"job_id\"", StringComparison.Ordinal)
                    && jobJson.Contains($"\"{status.ToString().ToLowerInvariant()}\"", StringComparison.Ordinal)
                    && tokenBack.ApiKey == token.ApiKey && tokenBack.ExpiresAt == expires && tokenBack.Permissions!.Models!.SequenceEqual(["lucy-2.1"]);
            }).Check(Cases);

    [Theory]
    [InlineData(0, null, "expiresIn")]
    [InlineData(3601, null, "expiresIn")]
    [InlineData(null, "example.com", "allowedOrigins")]
    [InlineData(null, "https://example.com/app", "allowedOrigins")]
    [InlineData(null, "ftp://example.com", "allowedOrigins")]
    public void Invalid_token_options_are_rejected_before_a_request(int? expiresIn, string? origin, string field)
    {
        var ex = Assert.Throws<DecartException>(() => TokensClient.Validate(new CreateTokenOptions { ExpiresIn = expiresIn, AllowedOrigins = origin is null ? null : [origin] }));
        Assert.Equal(DecartErrorCode.InvalidInput, ex.Code);
        Assert.StartsWith(field + ":", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Twenty_one_models_or_origins_are_too_many()
    {
        var many = Enumerable.Range(0, 21).Select(i => $"https://e{i}.com").ToList();
        Assert.StartsWith("allowedModels:", Assert.Throws<DecartException>(() => TokensClient.Validate(new CreateTokenOptions { AllowedModels = many })).Message, StringComparison.Ordinal);
        Assert.StartsWith("allowedOrigins:", Assert.Throws<DecartException>(() => TokensClient.Validate(new CreateTokenOptions { AllowedOrigins = many })).Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("text-to-image with data", "data:")]
    [InlineData("edit without data", "data:")]
    [InlineData("realtime model", "model:")]
    public void Per_model_rules_name_the_field(string what, string field)
    {
        var ex = Assert.Throws<DecartException>(() =>
        {
            switch (what)
            {
                case "text-to-image with data":
                    InputValidator.Validate(ImageModels.LucyProT2I, new GenerationInput { Prompt = "x", Data = Data });
                    break;
                case "edit without data":
                    InputValidator.Validate(ImageModels.LucyImage2, new GenerationInput { Prompt = "x" });
                    break;
                default:
                    InputValidator.Validate(RealtimeModels.Lucy21, new GenerationInput { Prompt = "x" });
                    break;
            }
        });
        Assert.StartsWith(field, ex.Message, StringComparison.Ordinal);
    }
}
