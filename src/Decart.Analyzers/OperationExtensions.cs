using System;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace Decart.Analyzers;

/// <summary>Small IOperation helpers shared by the rules.</summary>
internal static class OperationExtensions
{
    /// <summary>Strips conversions and parentheses.</summary>
    public static IOperation Unwrap(this IOperation operation)
    {
        while (true)
        {
            switch (operation)
            {
                case IConversionOperation conversion:
                    operation = conversion.Operand;
                    break;
                case IParenthesizedOperation parenthesized:
                    operation = parenthesized.Operand;
                    break;
                default:
                    return operation;
            }
        }
    }

    /// <summary>The symbol an expression names when it is a local, parameter, field or property (the receiver of a call).</summary>
    public static ISymbol? ReferencedSymbol(this IOperation? operation) => operation?.Unwrap() switch
    {
        ILocalReferenceOperation local => local.Local,
        IParameterReferenceOperation parameter => parameter.Parameter,
        IFieldReferenceOperation field => field.Field,
        IPropertyReferenceOperation property => property.Property,
        _ => null,
    };

    /// <summary>
    /// The receiver of a call, seen through a conditional access: for <c>rt?.DisposeAsync()</c> the <c>rt</c> reference
    /// (the call's own instance is only a placeholder then).
    /// </summary>
    public static IOperation? Receiver(this IInvocationOperation call)
    {
        var instance = call.Instance?.Unwrap();
        if (instance is IConditionalAccessInstanceOperation)
        {
            for (var o = call.Parent; o is not null; o = o.Parent)
            {
                if (o is IConditionalAccessOperation conditional)
                {
                    return conditional.Operation.Unwrap();
                }
            }
        }

        return instance;
    }

    /// <summary>For a statement <c>await x.M(…)</c> or <c>await x.M(…).ConfigureAwait(…)</c>: the call <c>x.M(…)</c>.</summary>
    public static IInvocationOperation? AwaitedCall(this IOperation statement)
    {
        var operation = statement is IExpressionStatementOperation expression ? expression.Operation : statement;
        if (operation.Unwrap() is not IAwaitOperation awaited)
        {
            return null;
        }

        var call = awaited.Operation.Unwrap() as IInvocationOperation;
        if (call is { TargetMethod.Name: "ConfigureAwait", Instance: { } inner } && inner.Unwrap() is IInvocationOperation configured)
        {
            call = configured;
        }

        return call;
    }

    /// <summary>
    /// Who receives the result of a call or creation (a <c>ConnectAsync</c>, an <c>OpenAsync</c>, a <c>new</c>): the parent
    /// above its await, conversions and <c>ConfigureAwait</c>.
    /// </summary>
    public static IOperation? ResultConsumer(this IOperation operation)
    {
        IOperation current = operation;
        while (current.Parent is IAwaitOperation or IConversionOperation or IParenthesizedOperation or IInvocationOperation { TargetMethod.Name: "ConfigureAwait" })
        {
            current = current.Parent;
        }

        return current.Parent;
    }

    /// <summary>Where a result is kept: the local it declares or is assigned to, or the field or property it is assigned to.</summary>
    public static ISymbol? ResultHolder(this IOperation operation) => operation.ResultConsumer() switch
    {
        IVariableInitializerOperation { Parent: IVariableDeclaratorOperation declarator } => declarator.Symbol,
        ISimpleAssignmentOperation { Target: { } target } => target.ReferencedSymbol(),
        _ => null,
    };

    /// <summary>Whether a declared variable is a <c>using</c>/<c>await using</c> declaration's or a <c>using (…)</c> statement's.</summary>
    public static bool IsUsingDeclared(this IVariableDeclaratorOperation declarator)
    {
        for (IOperation? o = declarator.Parent; o is not null; o = o.Parent)
        {
            switch (o)
            {
                case IUsingDeclarationOperation:
                case IUsingOperation:
                    return true;
                case IVariableDeclarationOperation:
                case IVariableDeclarationGroupOperation:
                    continue;
                default:
                    return false;
            }
        }

        return false;
    }

    /// <summary>The argument bound to a parameter, if it was given explicitly.</summary>
    public static IArgumentOperation? Argument(this IInvocationOperation call, string parameter)
    {
        foreach (var argument in call.Arguments)
        {
            if (argument.Parameter?.Name == parameter && argument.ArgumentKind != ArgumentKind.DefaultValue)
            {
                return argument;
            }
        }

        return null;
    }

    /// <summary>The root of the executable code an operation is in (method body, lambda, local function).</summary>
    public static IOperation Root(this IOperation operation)
    {
        while (operation.Parent is not null)
        {
            operation = operation.Parent;
        }

        return operation;
    }

    /// <summary>Whether the operation sits in the finally clause of a try.</summary>
    public static bool IsInFinally(this IOperation operation)
    {
        for (var child = operation; child.Parent is not null; child = child.Parent)
        {
            if (child.Parent is ITryOperation tryOperation && tryOperation.Finally == child)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Whether this use of a local ends its holder's duty to close what it holds: a <c>Dispose</c>/<c>DisposeAsync</c>/
    /// <c>DisconnectAsync</c> in a <c>finally</c> (also through <c>?.</c>), a <c>using (x)</c>, a return, a copy or an
    /// assignment elsewhere, or an argument — unless <paramref name="keepsOwnership"/> says that call only borrows it.
    /// </summary>
    public static bool ClosesOrHandsOn(this ILocalReferenceOperation reference, Func<IArgumentOperation, bool>? keepsOwnership = null)
    {
        IOperation use = reference;
        while (use.Parent is IConversionOperation or IParenthesizedOperation)
        {
            use = use.Parent;
        }

        switch (use.Parent)
        {
            case IInvocationOperation invocation when invocation.Instance == use && DecartSymbols.IsDisposeName(invocation.TargetMethod.Name):
                return invocation.IsInFinally();
            case IConditionalAccessOperation conditional when conditional.Operation == use && conditional.WhenNotNull.Unwrap() is IInvocationOperation inner && DecartSymbols.IsDisposeName(inner.TargetMethod.Name):
                return conditional.IsInFinally();
            case IArgumentOperation argument:
                return keepsOwnership?.Invoke(argument) != true;
            case IUsingOperation:
            case IReturnOperation:
            case IVariableInitializerOperation:
                return true;
            case ISimpleAssignmentOperation assignment when assignment.Value == use:
                return true;
            default:
                return false;
        }
    }

    /// <summary>The initializer members of an object creation (<c>new T { A = …, B = … }</c>) by property name.</summary>
    public static IOperation? InitializerValue(this IObjectCreationOperation creation, string property)
    {
        if (creation.Initializer is null)
        {
            return null;
        }

        foreach (var initializer in creation.Initializer.Initializers)
        {
            if (initializer is ISimpleAssignmentOperation { Target: IPropertyReferenceOperation target } assignment && target.Property.Name == property)
            {
                return assignment.Value;
            }
        }

        return null;
    }

    /// <summary>Whether a value is given and is not the literal <c>null</c> (an image, an fps that is really there).</summary>
    public static bool IsGiven(this IOperation? operation) =>
        operation is not null && !(operation.ConstantValue.HasValue && operation.ConstantValue.Value is null);

    /// <summary>A constant string value, if the expression has one.</summary>
    public static string? ConstantString(this IOperation? operation) =>
        operation is not null && operation.ConstantValue.HasValue && operation.ConstantValue.Value is string s ? s : null;
}
