using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace Decart.Analyzers;

/// <summary>
/// Where a rule registers its actions. On its own (tests, or a rule used alone) they go straight into the compilation;
/// inside <see cref="DecartRules"/>, the analyzer the package ships, they are collected and registered once for all
/// every rule: one operation callback per operation (dispatching to the rules that asked for its kind) instead of one
/// per rule, one operation-block start and one type start. Roslyn's per-callback and per-analyzer cost is most of
/// what the rules cost a build (bench/README.md, "Analyzer cost").
/// </summary>
internal sealed class RuleActions
{
    private readonly CompilationStartAnalysisContext? _direct;
    private readonly Dictionary<OperationKind, List<Action<OperationAnalysisContext>>> _operations = [];
    private readonly Dictionary<OperationKind, HashSet<string>?> _names = [];
    private readonly List<Action<OperationBlockStartAnalysisContext>> _blockStarts = [];
    private readonly List<Action<SymbolStartAnalysisContext>> _typeStarts = [];

    private RuleActions(CompilationStartAnalysisContext? direct) => _direct = direct;

    /// <summary>Actions registered straight into the compilation.</summary>
    public static RuleActions Direct(CompilationStartAnalysisContext context) => new(context);

    /// <summary>Actions collected for one shared registration (<see cref="Attach"/>).</summary>
    public static RuleActions Shared() => new(null);

    /// <summary>
    /// Like <see cref="CompilationStartAnalysisContext.RegisterOperationAction(Action{OperationAnalysisContext}, OperationKind[])"/>,
    /// for the operations whose name is one of <paramref name="names"/>: the invoked method's, the created type's, the
    /// assigned member's. Inside <see cref="DecartRules"/> the names gate the syntax before anything is bound; an
    /// action may still see operations of other names (another rule asked for them) and checks its own.
    /// </summary>
    public void RegisterOperationAction(Action<OperationAnalysisContext> action, IEnumerable<string>? names, params OperationKind[] kinds)
    {
        if (_direct is { } direct)
        {
            direct.RegisterOperationAction(action, kinds);
            return;
        }

        foreach (var kind in kinds)
        {
            if (!_operations.TryGetValue(kind, out var list))
            {
                _operations[kind] = list = [];
                _names[kind] = [];
            }

            list.Add(action);
            if (names is null)
            {
                _names[kind] = null; // this action wants every operation of the kind
            }
            else
            {
                _names[kind]?.UnionWith(names);
            }
        }
    }

    /// <summary>Like <see cref="CompilationStartAnalysisContext.RegisterOperationBlockStartAction"/>.</summary>
    public void RegisterOperationBlockStartAction(Action<OperationBlockStartAnalysisContext> action)
    {
        if (_direct is { } direct)
        {
            direct.RegisterOperationBlockStartAction(action);
        }
        else
        {
            _blockStarts.Add(action);
        }
    }

    /// <summary>Like <see cref="CompilationStartAnalysisContext.RegisterSymbolStartAction"/>, for named types (all the rules need).</summary>
    public void RegisterTypeStartAction(Action<SymbolStartAnalysisContext> action)
    {
        if (_direct is { } direct)
        {
            direct.RegisterSymbolStartAction(action, SymbolKind.NamedType);
        }
        else
        {
            _typeStarts.Add(action);
        }
    }

    /// <summary>
    /// The operation actions: one callback per operation of the kinds asked for. The names the rules declared gate the
    /// dispatch (a call to a method no rule names reaches no rule), so most operations cost one dictionary lookup.
    /// Driving the rules from syntax instead (binding only the nodes whose name matches) was measured and is slower:
    /// each node's operation is bound on its own, where the driver builds a method's tree once.
    /// </summary>
    private void AttachOperations(CompilationStartAnalysisContext context)
    {
        var table = _operations.ToDictionary(p => p.Key, p => p.Value.ToArray());
        var names = _names.ToDictionary(p => p.Key, p => p.Value);
        context.RegisterOperationAction(
            c =>
            {
                var operation = c.Operation;
                var kind = operation.Kind;
                if (names.TryGetValue(kind, out var wanted) && wanted is not null && !wanted.Contains(NameOf(operation)))
                {
                    return;
                }

                foreach (var action in table[kind])
                {
                    action(c);
                }
            },
            table.Keys.ToImmutableArray());
    }

    /// <summary>The name an operation is known by to the gate: the invoked method's, the created type's, the assigned member's.</summary>
    private static string NameOf(IOperation operation) => operation switch
    {
        IInvocationOperation call => call.TargetMethod.Name,
        IObjectCreationOperation creation => creation.Type?.Name ?? string.Empty,
        ISimpleAssignmentOperation { Target: IPropertyReferenceOperation property } => property.Property.Name,
        ISimpleAssignmentOperation { Target: IFieldReferenceOperation field } => field.Field.Name,
        _ => string.Empty,
    };

    /// <summary>Registers what was collected, once per kind of action.</summary>
    /// <param name="context">The compilation's start context.</param>
    public void Attach(CompilationStartAnalysisContext context)
    {
        if (_operations.Count > 0)
        {
            AttachOperations(context);
        }

        if (_blockStarts.Count > 0)
        {
            var starts = _blockStarts.ToArray();
            context.RegisterOperationBlockStartAction(c =>
            {
                foreach (var action in starts)
                {
                    action(c);
                }
            });
        }

        if (_typeStarts.Count > 0)
        {
            var starts = _typeStarts.ToArray();
            context.RegisterSymbolStartAction(
                c =>
                {
                    foreach (var action in starts)
                    {
                        action(c);
                    }
                },
                SymbolKind.NamedType);
        }
    }
}
