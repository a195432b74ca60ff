// The Mattermost error body, model.AppError (server/public/model/utils.go): id, message, detailed_error,
// request_id, status_code, is_oauth. `request_id`, `status_code` and `is_oauth` are `omitempty` there, so a real
// server leaves `is_oauth` out when it is false; the fake does the same.
export class AppError extends Error {
  constructor(
    readonly id: string,
    readonly statusCode: number,
    readonly detailedError = '',
  ) {
    super(id);
  }

  body(requestId: string): Record<string, unknown> {
    // message: a real server sends the English translation of `id`; the fake has no translation table, so it
    // sends the id itself (what NewAppError does when no translate function is loaded).
    return { id: this.id, message: this.id, detailed_error: this.detailedError, request_id: requestId, status_code: this.statusCode };
  }
}

// web/context.go NewInvalidParamError / NewInvalidURLParamError.
export const invalidBodyParam = (name: string) => new AppError('api.context.invalid_body_param.app_error', 400, `name=${name}`);
export const invalidUrlParam = (name: string) => new AppError('api.context.invalid_url_param.app_error', 400, `name=${name}`);
// web/context.go SessionRequired.
export const sessionExpired = () => new AppError('api.context.session_expired.app_error', 401, 'UserRequired');
// app MakePermissionError, used by Context.SetPermissionError.
export const permissionError = (permission: string) =>
  new AppError('api.context.permissions.app_error', 403, `userId=..., permission=${permission}`);
// web/handlers.go Handle404.
export const notFoundRoute = () => new AppError('api.context.404.app_error', 404);

export const MISSING_ACCOUNT = 'app.user.missing_account.const'; // app/user.go MissingAccountError
