// The errors and problems of the contract live in the ground floor (engine/model); the API and
// the renderer take them from here.
export * from '../model/errors';
