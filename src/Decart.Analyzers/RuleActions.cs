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
/// the rules: one operation callback per operation (handing it to the rules that asked for its kind and name) instead
/// of one per rule, one operation-block start and one type start (bench/README.md, "Analyzer cost").
/// </summary>
internal sealed class RuleActions
{
    private readonly CompilationStartAnalysisContext? _direct;
    private readonly Dictionary<OperationKind, List<(Action<OperationAnalysisContext> Action, string[]? Names)>> _operations = [];
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
    /// assigned member's; <see langword="null"/> for all of them. Inside <see cref="DecartRules"/> the action sees only
    /// those; a rule used on its own sees every operation of the kinds, so an action still checks the name itself.
    /// </summary>
    public void RegisterOperationAction(Action<OperationAnalysisContext> action, IEnumerable<string>? names, params OperationKind[] kinds)
    {
        if (_direct is { } direct)
        {
            direct.RegisterOperationAction(action, kinds);
            return;
        }

        var wanted = names?.ToArray();
        foreach (var kind in kinds)
        {
            if (!_operations.TryGetValue(kind, out var list))
            {
                _operations[kind] = list = [];
            }

            list.Add((action, wanted));
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
    /// The operation actions: one callback per operation of the kinds asked for, which hands the operation to the
    /// actions that asked for its name (the invoked method's, the created type's, the assigned member's) and to those
    /// that want every operation of its kind. A call to a method no rule names reaches no rule, so most operations
    /// cost one dictionary lookup. Driving the rules from syntax instead (binding only the nodes whose name matches)
    /// was measured and is slower: each node's operation is bound on its own, where the driver builds a method's tree
    /// once.
    /// </summary>
    private void AttachOperations(CompilationStartAnalysisContext context, DecartSymbols symbols)
    {
        var dispatch = new Dictionary<OperationKind, Dispatch>();
        foreach (var pair in _operations)
        {
            var everyName = pair.Value.Where(a => a.Names is null).Select(a => a.Action).ToArray();
            var byName = new Dictionary<string, Action<OperationAnalysisContext>[]>(StringComparer.Ordinal);
            foreach (var name in pair.Value.Where(a => a.Names is not null).SelectMany(a => a.Names!).Distinct())
            {
                // In registration order: the actions that named it and the ones that take every name.
                byName[name] = pair.Value.Where(a => a.Names is null || Array.IndexOf(a.Names, name) >= 0).Select(a => a.Action).ToArray();
            }

            dispatch[pair.Key] = new Dispatch(byName, everyName);
        }

        context.RegisterOperationAction(
            c =>
            {
                var operation = c.Operation;
                var target = dispatch[operation.Kind];
                var actions = target.ByName.Count > 0 && target.ByName.TryGetValue(NameOf(operation), out var named) ? named : target.EveryName;
                if (actions.Length == 0 || !symbols.IsAvailable)
                {
                    return;
                }

                foreach (var action in actions)
                {
                    action(c);
                }
            },
            dispatch.Keys.ToImmutableArray());
    }

    /// <summary>The actions of one operation kind: by the name they asked for, and those that take every operation.</summary>
    private sealed class Dispatch
    {
        public Dispatch(Dictionary<string, Action<OperationAnalysisContext>[]> byName, Action<OperationAnalysisContext>[] everyName)
        {
            ByName = byName;
            EveryName = everyName;
        }

        public Dictionary<string, Action<OperationAnalysisContext>[]> ByName { get; }

        public Action<OperationAnalysisContext>[] EveryName { get; }
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
    /// <param name="symbols">The SDK's types: no action runs when the compilation turns out not to have them.</param>
    public void Attach(CompilationStartAnalysisContext context, DecartSymbols symbols)
    {
        if (_operations.Count > 0)
        {
            AttachOperations(context, symbols);
        }

        if (_blockStarts.Count > 0)
        {
            var starts = _blockStarts.ToArray();
            context.RegisterOperationBlockStartAction(c =>
            {
                if (!symbols.IsAvailable)
                {
                    return;
                }

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
                    if (!symbols.IsAvailable)
                    {
                        return;
                    }

                    foreach (var action in starts)
                    {
                        action(c);
                    }
                },
                SymbolKind.NamedType);
        }
    }
}
