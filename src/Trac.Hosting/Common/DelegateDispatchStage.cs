using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Trac.Hosting.Common;

/// <summary>Ends the pipeline with the host's own dispatch delegate; it needs no earlier stage.</summary>
internal sealed class DelegateDispatchStage(RequestDelegate dispatch) : ITracStage
{
    public TracStage Stage => TracStage.Dispatch;

    public IReadOnlyList<TracStage> Requires => [];

    public void Apply(TracPipelineContext context) => context.App.Run(dispatch);
}
